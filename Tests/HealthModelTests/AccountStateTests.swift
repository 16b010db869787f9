import Contracts
import Testing
@testable import HealthModel

@Suite struct AccountStateTests {
    let scorer = HealthScorer()
    let noon = Timestamp(year: 2026, month: 11, day: 20, hour: 12)

    @Test func stateOfEverySampleAccountRoundTripsExactly() throws {
        let replay = Fixtures.replayed.replay
        #expect(replay.accountIds.count == Fixtures.sampleOptions.accounts)
        for id in replay.accountIds {
            let state = try #require(replay.state(of: id))
            let bytes = state.encode()
            let decoded = try AccountState(decoding: bytes)
            #expect(decoded == state, "\(id) round-trips")
            #expect(decoded.encode() == bytes, "\(id) re-encodes to the same bytes")
        }
    }

    @Test func typicalStateIsAtMostTwoKiB() throws {
        let replay = Fixtures.replayed.replay
        let sizes = replay.accountIds.compactMap { replay.state(of: $0)?.encode().count }.sorted()
        let median = sizes[sizes.count / 2]
        #expect(median <= 2048, "median encoded state is \(median) bytes")
        #expect(sizes.last! <= 4096, "largest encoded state is \(sizes.last!) bytes")
    }

    @Test func emptyStateRoundTrips() throws {
        let state = AccountState(accountId: "acme")
        #expect(try AccountState(decoding: state.encode()) == state)
    }

    @Test func decodedStateScoresLikeTheOriginal() throws {
        let replay = Fixtures.replayed.replay
        let id = Fixtures.generator.stories.collapse!
        var original = try #require(replay.state(of: id))
        var decoded = try AccountState(decoding: original.encode())
        #expect(scorer.evaluation(of: &decoded) == scorer.evaluation(of: &original))
        let later = original.validAt!.adding(days: 1)
        #expect(scorer.advance(to: later, state: &decoded) == scorer.advance(to: later, state: &original))
    }

    @Test func corruptOrTruncatedBytesThrowAndNeverTrap() throws {
        let replay = Fixtures.replayed.replay
        let bytes = try #require(replay.state(of: replay.accountIds[7])).encode()
        for n in 0..<bytes.count {
            #expect(throws: HealthModelError.self) { _ = try AccountState(decoding: Array(bytes[0..<n])) }
        }
        var wrongVersion = bytes
        wrongVersion[0] = 99
        #expect(throws: HealthModelError.stateDecoding(reason: "unknown encoding version 99 (this build reads 1)")) {
            _ = try AccountState(decoding: wrongVersion)
        }
        // Flipped bytes either decode to some state or throw; they never trap.
        for k in stride(from: 1, to: bytes.count, by: 3) {
            var flipped = bytes
            flipped[k] ^= 0xFF
            _ = try? AccountState(decoding: flipped)
        }
        #expect(throws: HealthModelError.self) { _ = try AccountState(decoding: bytes + [0]) }
    }

    @Test func aRepublishedEventCountsOnce() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        let ticket = f.make(.ticketOpened, at: noon, user: "u1", EventProperties(ticketId: "T-1", sentiment: -0.5), id: "t-1")
        #expect(scorer.apply(ticket, to: &state).disposition == .applied)
        _ = scorer.apply(f.make(.login, at: noon.adding(days: 1), user: "u1"), to: &state)
        let again = scorer.apply(ticket, to: &state)
        #expect(again.disposition == .duplicate)
        #expect(again.record == nil)
        #expect(state.rare.filter { $0.kind == .ticketOpened }.count == 1)
        // A copy republished after the dedup window cannot be checked, so it is refused as too late.
        _ = scorer.apply(f.make(.login, at: noon.adding(days: 10), user: "u1"), to: &state)
        #expect(scorer.apply(ticket, to: &state).disposition == .tooLate)
        #expect(state.rare.filter { $0.kind == .ticketOpened }.count == 1)
    }

    @Test func aLateEventLandsInItsDay() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        for d in 0..<3 { _ = scorer.apply(f.make(.login, at: noon.adding(days: Int64(d)), user: "u1"), to: &state) }
        let yesterday = Int32(noon.adding(days: 1).epochDay)
        let today = Int32(noon.adding(days: 2).epochDay)
        #expect(state.value(.logins, day: yesterday) == 1)
        let late = f.make(.login, at: noon.adding(days: 1).adding(seconds: 3600), user: "u2")
        #expect(scorer.apply(late, to: &state).disposition == .applied)
        #expect(state.value(.logins, day: yesterday) == 2, "the late login is counted on its own day")
        #expect(state.value(.users, day: yesterday) == 2)
        #expect(state.value(.logins, day: today) == 1, "today is untouched")
        #expect(state.validAt == noon.adding(days: 2), "a late event does not move the clock back")
    }

    @Test func daysOutsideTheHorizonAreForgotten() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        _ = scorer.apply(f.make(.login, at: noon, user: "u1"), to: &state)
        _ = scorer.apply(f.make(.apiCall, at: noon, EventProperties(count: 500, errors: 3)), to: &state)
        let first = Int32(noon.epochDay)
        #expect(state.apiValue(0, day: first) == 500)
        _ = scorer.apply(f.make(.login, at: noon.adding(days: 95), user: "u1"), to: &state)
        #expect(state.value(.logins, day: first) == 0)
        #expect(state.small.reduce(0) { $0 + Int($1) } == 2, "only the new day's login and user remain")
        #expect(state.api.allSatisfy { $0 == 0 })
    }

    @Test func distinctUsersAreCountedNotLogins() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        for k in 0..<30 { _ = scorer.apply(f.make(.login, at: noon.adding(seconds: Int64(k)), user: "u\(k % 10)"), to: &state) }
        let day = Int32(noon.epochDay)
        #expect(state.value(.logins, day: day) == 30)
        #expect(abs(state.value(.users, day: day) - 10) <= 1, "10 distinct users (estimate)")
    }
}
