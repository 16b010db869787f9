import Contracts
import Testing

@testable import HealthModel

/// Each score record carries the scorer's sequence number for its account: the evaluator tells
/// records apart by it (with their time, event ids and triggers), so it must be deterministic and
/// survive the changelog.
@Suite struct RecordSequenceTests {
    @Test func eachAccountsRecordsAreNumberedFromOne() {
        var byAccount: [String: [Int?]] = [:]
        for r in Fixtures.replayed.records { byAccount[r.accountId, default: []].append(r.sequence) }
        #expect(byAccount.count == Fixtures.sampleOptions.accounts)
        for (id, numbers) in byAccount {
            #expect(numbers == (1...numbers.count).map { Optional($0) }, "\(id)")
        }
    }

    @Test func aStateFromTheChangelogGoesOnNumberingWhereItWas() throws {
        let replay = Fixtures.replayed.replay
        let id = Fixtures.generator.stories.collapse!
        let emitted = Fixtures.records(of: id).count
        var state = try AccountState(decoding: try #require(replay.state(of: id)).encode())
        let later = state.validAt!.adding(days: 6)
        let next = try #require(HealthScorer().advance(to: later, state: &state), "silence is a signal")
        #expect(next.sequence == emitted + 1)
    }

    @Test func aVersion1StateStartsNumberingAtOne() throws {
        var state = try AccountState(decoding: StateEncodingVersion1Tests.version1Bytes)
        let next = try #require(HealthScorer().advance(to: state.validAt!.adding(days: 6), state: &state))
        #expect(next.sequence == 1)
    }
}
