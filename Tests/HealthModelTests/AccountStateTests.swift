import Contracts
import TestSupport
import Testing

@testable import HealthModel

@Suite struct AccountStateTests {
    let scorer = HealthScorer()
    let noon = Timestamp(year: 2026, month: 11, day: 20, hour: 12)

    @Test func stateOfEverySampleAccountRoundTripsExactly() async throws {
        try await CPULane.run {
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
        #expect(throws: HealthModelError.stateDecoding(reason: "unknown encoding version 99 (this build reads 3)")) {
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

    /// A varint past 64 bits (issue 23) is refused with its byte, where it used to lose the high bits.
    @Test func aVarintLongerThan64BitsIsRefused() {
        // Version 2, the account id "a", then a horizon of ten bytes whose last carries bit 65.
        let bytes: [UInt8] = [2, 1, 0x61] + [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(throws: HealthModelError.stateDecoding(reason: "varint longer than 64 bits at byte 3")) {
            _ = try AccountState(decoding: bytes)
        }
    }

    @Test func aRepublishedEventCountsOnce() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        let ticket = f.make(
            .ticketOpened, at: noon, user: "u1", EventProperties(ticketId: "T-1", sentiment: -0.5), id: "t-1")
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
        let values = state.ring.values  // [slot * 6 + field]: 4 product fields, then 2 API fields
        #expect(
            values.enumerated().filter { $0.offset % 6 < 4 }.reduce(0) { $0 + Int($1.element) } == 2,
            "only the new day's login and user remain")
        #expect(values.enumerated().allSatisfy { $0.offset % 6 < 4 || $0.element == 0 })
    }

    @Test func distinctUsersAreCountedNotLogins() {
        var state = scorer.makeState(accountId: "a")
        var f = EventFactory(account: "a")
        for k in 0..<30 {
            _ = scorer.apply(f.make(.login, at: noon.adding(seconds: Int64(k)), user: "u\(k % 10)"), to: &state)
        }
        let day = Int32(noon.epochDay)
        #expect(state.value(.logins, day: day) == 30)
        #expect(abs(state.value(.users, day: day) - 10) <= 1, "10 distinct users (estimate)")
    }
}

@Suite struct CompactStateStorageTests {
    @Test func dayRingHoldsExactValuesAndSaturatesLikeFixedWidthCounters() {
        var ring = DayRing(days: 10, extraWords: 4)
        var plain = [UInt32](repeating: 0, count: 10 * DayRing.fieldCount)
        let amounts = [0, 1, 3, 200, 255, 256, 70_000, 1 << 20, Int(UInt32.max), 5]
        for (k, amount) in amounts.enumerated() {
            for f in 0..<DayRing.fieldCount {
                let slot = (k * 3 + f) % 10
                ring.add(f, slot: slot, amount)
                let i = slot * DayRing.fieldCount + f
                plain[i] = UInt32(min(Int(DayRing.limit(f)), Int(plain[i]) + amount))
            }
        }
        ring.setExtra(1, 0xDEAD_BEEF_0000_0001)
        #expect(ring.values == plain, "every value as in a plain array of counters")
        #expect(plain.contains(UInt32(UInt16.max)) && plain.contains(UInt32.max), "both limits were reached")
        #expect(ring.extras == [0, 0xDEAD_BEEF_0000_0001, 0, 0], "extra words survive widening")
        let rebuilt = DayRing(days: 10, values: plain, extra: ring.extras)
        #expect(rebuilt == ring, "narrowest rebuild is equal")
        ring.clear(slot: 3)
        #expect(ring.values[3 * DayRing.fieldCount..<4 * DayRing.fieldCount].allSatisfy { $0 == 0 })
        #expect(ring != rebuilt)
    }

    @Test func seenIdsKeepTheOrderOfInsertionByDay() {
        var seen = SeenIds()
        var plain: [(Int32, UInt32)] = []
        let inserts: [(Int32, UInt32)] = [(10, 1), (10, 2), (12, 3), (11, 4), (12, 5), (9, 6), (11, 7)]
        for (day, fp) in inserts {
            seen.insert(day: day, fingerprint: fp)
            var k = plain.count
            while k > 0, plain[k - 1].0 > day { k -= 1 }
            plain.insert((day, fp), at: k)
        }
        let flat = seen.runs.flatMap { run in run.fingerprints.map { (run.day, $0) } }
        #expect(flat.map(\.0) == plain.map(\.0) && flat.map(\.1) == plain.map(\.1))
        #expect(seen.count == 7 && seen.contains(4) && !seen.contains(8))
        seen.removeDays(before: 11)
        #expect(seen.runs.map(\.day) == [11, 12] && seen.count == 4 && !seen.contains(1))
    }

    @Test func pendingEventIdsKeepTheMostRecent() {
        var pending = PendingEventIds()
        let long = String(repeating: "x", count: 200)
        for id in ["a", long, "acct-0001-d12-184"] { pending.append(id) }
        pending.removeFirst()
        #expect(pending.ids == [long, "acct-0001-d12-184"] && pending.count == 2)
        pending.removeAll()
        #expect(pending.ids.isEmpty && pending.count == 0)
    }

    @Test func compactStatesRoundTripThroughTheVersion3Encoding() throws {
        let gen = SampleGenerator(options: .init(seed: 3, accounts: 12, days: 20, activity: 3))
        var replay = Replay()
        for day in 0..<20 {
            for line in gen.lines(forDay: day) { line.withUnsafeBufferPointer { replay.process(line: $0) { _ in } } }
        }
        let states = replay.accountIds.compactMap { replay.state(of: $0) }
        #expect(states.count == 12)
        for state in states {
            let bytes = state.encode()
            #expect(bytes.first == 3, "version 3 layout")
            #expect(!state.hours.isEmpty, "the hour profile is kept")
            let decoded = try AccountState(decoding: bytes)
            #expect(decoded == state)
            #expect(decoded.encode() == bytes, "re-encoding gives the same bytes")
            #expect(
                decoded.userBits == state.userBits && decoded.seen == state.seen
                    && decoded.pendingEventIds == state.pendingEventIds)
        }
        #expect(states.contains { $0.seen.count > 50 && $0.pending.count > 0 }, "the sample exercises ids")
    }
}

@Suite struct StateEncodingVersion1Tests {
    /// A state of `acct-0035` (sample seed 5, 40 days) as encoded by the code before the compact
    /// in-memory storage (fixed-width day arrays): the version 1 layout, which version 2 extends with
    /// the record sequence at the end and version 3 with the hour profile after it.
    static let version1Hex = [
        "0109616363742d303033355a03a0b7ecd4a4684e00000000000000fc9fcfffff033f04040678f00d083f0202021fb60c",
        "073f0404065d9d0c073f0404078e01bc0d0830ad030230af03023f010102069202013f04040768cc0d083f0303043485",
        "0e083f04040868ba0b073f0303055c910d083f03030664cf0e093f02020370f90b073f04040666820c073f04040552bd",
        "0c073f0404077c9c0c073f0404056de40e093f040404c6018f0c073f03030544cc0c083f04040764a80d083f04040691",
        "01bd0d080f02020373309903023f0404079201e80c083f0404063acd0b073f04040676c10e093f0202032cd80c083f03",
        "03055ee00c0830c70302308f03013f0404079901940e093f0404066fe30b073f040405a501f70c083f0404065ade0b07",
        "3f0303053a910c070f010102153e00000001000000001001200000000000000000010000000000012000000000000000",
        "0001000000001f0f041d64b5b03948abe74ffbdeacdf09a559e7c0f0ee207553150e49a2463ef89da80bd6046c00da75",
        "0f9ab54d925fa8d70643d06673a96e55009cfaedfa0c02ef05658d9729939f5678dabb613a99a7ba1a95a7033071ff79",
        "1623f8380fb3638846f00631e049131c99360908f2b24604001a5aa58050206ba3018d74e313bf03fb0336c00403142c",
        "f001050022ab07013b043c36b5782e4e002efc84271e4e026af3470a2c4e00927423f72a4a02014e067f104163636f75",
        "6e742030303335204c4c43065530313033352a68747470733a2f2f63726d2e6578616d706c652e636f6d2f6163636f75",
        "6e74732f616363742d303033350a323032372d30352d303610416d65726963612f4e65775f596f726b02000000000040",
        "7f40a2ebff9b190000c8010000808010080f616363742d303033352d6433382d360f616363742d303033352d6433382d",
        "300f616363742d303033352d6433382d310f616363742d303033352d6433382d320f616363742d303033352d6433392d",
        "300f616363742d303033352d6433392d310f616363742d303033352d6433392d320f616363742d303033352d6433392d",
        "33",
    ].joined()

    static var version1Bytes: [UInt8] {
        let hex = Array(version1Hex.utf8)
        return stride(from: 0, to: hex.count, by: 2).map {
            UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)!
        }
    }

    @Test func aVersion1StateDecodesAndReEncodesToTheSameBytes() throws {
        let bytes = Self.version1Bytes
        #expect(bytes.count == 769 && bytes.first == 1)
        let state = try AccountState(decoding: bytes)
        #expect(state.accountId == "acct-0035" && !state.isEmpty)
        #expect(state.seen.count > 0, "event-id fingerprints decoded")
        #expect(state.ring.values.contains { $0 > 255 }, "wide day counters decoded")
        #expect(state.sequence == 0, "version 1 kept no sequence")
        #expect(state.hours.isEmpty, "version 1 kept no hour profile")
        #expect(
            state.encode() == [3] + bytes.dropFirst() + [0, 0],
            "re-encoded as version 3: the same layout, sequence 0 and no hours counted")
        #expect(try AccountState(decoding: state.encode()) == state)
    }
}

@Suite struct HourProfileTests {
    @Test func countsSaturateByHalvingEveryHourAndSharesFollowTheCounts() {
        var p = HourProfile()
        #expect(p.isEmpty && p.share(before: 12, minimumEvents: 1) == nil)
        for _ in 0..<30 { p.count(hour: 9) }
        for _ in 0..<10 { p.count(hour: 15) }
        p.count(hour: 24)  // not an hour: ignored
        p.count(hour: -1)
        #expect(p[9] == 30 && p[15] == 10 && p.total == 40)
        #expect(p.share(before: 9, minimumEvents: 20) == 0)
        #expect(p.share(before: 12, minimumEvents: 20) == 0.75)
        #expect(p.share(before: 24, minimumEvents: 20) == 1)
        #expect(p.share(before: 99, minimumEvents: 20) == 1 && p.share(before: -5, minimumEvents: 20) == 0)
        #expect(p.share(before: 12, minimumEvents: 41) == nil, "too few events: no evidence of the account's hours")
        for _ in 0..<300 { p.count(hour: 9) }
        #expect(p[9] >= 128 && p[15] == 5 || p[15] == 2, "a full hour halves every hour: \(p[9]) \(p[15])")
        for h in 0..<24 where h != 9 && h != 15 { #expect(p[h] == 0, "hour \(h) untouched by the halving") }
        var q = HourProfile()
        for h in 0..<24 { q[h] = 255 }
        q.count(hour: 23)
        #expect((0..<23).allSatisfy { q[$0] == 127 } && q[23] == 128, "no bit crosses into a neighbouring hour")
    }

    /// The word-at-a-time sums are the byte-by-byte sums, for full counters too.
    @Test func sumsOfTheHoursBeforeAnHourAreTheCountsAdded() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<50 {
            var p = HourProfile()
            for h in 0..<24 { p[h] = round == 0 ? 255 : UInt8.random(in: 0...255, using: &rng) }
            var naive = 0
            for hour in -1...25 {
                #expect(p.sum(before: hour) == naive, "round \(round), before \(hour)")
                if (0..<24).contains(hour) { naive += Int(p[hour]) }
            }
            #expect(p.total == (0..<24).reduce(0) { $0 + Int(p[$1]) })
        }
    }

    @Test func hourlyReScoringCountsThePartOfTodayThatPassedInASilence() throws {
        // A steady account active 09:00-17:00 UTC every day, then dark from a Monday 00:00.
        var config = ScoringConfig()
        config.rescoreEveryHours = 1
        let hourly = HealthScorer(config: config)
        config.rescoreEveryHours = 24
        let daily = HealthScorer(config: config)
        func run(_ scorer: HealthScorer) -> [ScoreRecord] {
            var replay = Replay(scorer: scorer)
            var records: [ScoreRecord] = []
            let start = Timestamp(year: 2026, month: 8, day: 3)  // a Monday
            for day in 0..<56 {
                for hour in 9..<17 {
                    let t = start.adding(days: Int64(day)).adding(milliseconds: Int64(hour) * 3_600_000)
                    let line =
                        #"{"event_id":"e-\#(day)-\#(hour)","account_id":"acme","type":"login","occurred_at":"\#(t.rfc3339)","user_id":"u\#(hour % 3)"}"#
                    Array(line.utf8).withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } }
                }
            }
            // Other accounts' events move the watermark on while acme is dark (three days and more).
            for k in 0..<80 {
                let t = start.adding(days: 56).adding(milliseconds: Int64(k) * 3_600_000 + 60_000)
                let line = #"{"event_id":"o-\#(k)","account_id":"other","type":"login","occurred_at":"\#(t.rfc3339)"}"#
                Array(line.utf8).withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } }
            }
            return records.filter { $0.accountId == "acme" }
        }
        let silentFrom = Timestamp(year: 2026, month: 8, day: 3).adding(days: 56).millisecondsSinceEpoch
        func firstInactivity(_ records: [ScoreRecord]) -> Int64? {
            records.first { r in r.signals.contains { $0.code == "inactivity" } }
                .map { $0.validAt.millisecondsSinceEpoch - silentFrom }
        }
        let hourlyAt = try #require(firstInactivity(run(hourly)), "hourly: the silence never counted")
        let dailyAt = try #require(firstInactivity(run(daily)), "daily: the silence never counted")
        #expect(dailyAt % Timestamp.millisecondsPerDay == 0, "daily re-scoring only at midnights")
        #expect(hourlyAt < dailyAt, "hourly \(hourlyAt / 3_600_000) h, daily \(dailyAt / 3_600_000) h")
        #expect(
            hourlyAt > Timestamp.millisecondsPerDay, "one dark working day is not a trend: \(hourlyAt / 3_600_000) h")
    }
    /// `at_once_expected`: a silence whose evidence is that strong for the account's own rhythm
    /// counts within the first dark working day; without it, it waits for one and a half busiest days.
    @Test func aSilenceStrongEnoughForTheAccountsRhythmCountsAtOnceWhenAskedTo() throws {
        // 24 logins a day, 09:00-17:00 UTC, then dark from a Monday 00:00.
        let start = Timestamp(year: 2026, month: 8, day: 3)  // a Monday
        let silentFrom = start.adding(days: 56).millisecondsSinceEpoch
        func firstInactivityHours(atOnce: Double) -> Int64? {
            var config = ScoringConfig()
            config.rescoreEveryHours = 1
            config.inactivityAtOnceExpected = atOnce
            var replay = Replay(scorer: HealthScorer(config: config))
            var records: [ScoreRecord] = []
            func feed(_ line: String) {
                Array(line.utf8).withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } }
            }
            for day in 0..<56 {
                for hour in 9..<17 {
                    for k in 0..<3 {
                        let t = start.adding(days: Int64(day)).adding(
                            milliseconds: Int64(hour) * 3_600_000 + Int64(k) * 600_000)
                        feed(
                            #"{"event_id":"e-\#(day)-\#(hour)-\#(k)","account_id":"acme","type":"login","occurred_at":"\#(t.rfc3339)","user_id":"u\#(hour % 3)"}"#
                        )
                    }
                }
            }
            for k in 0..<80 {
                let t = start.adding(days: 56).adding(milliseconds: Int64(k) * 3_600_000 + 60_000)
                feed(#"{"event_id":"o-\#(k)","account_id":"other","type":"login","occurred_at":"\#(t.rfc3339)"}"#)
            }
            return records.first { r in r.accountId == "acme" && r.signals.contains { $0.code == "inactivity" } }
                .map { ($0.validAt.millisecondsSinceEpoch - silentFrom) / 3_600_000 }
        }
        let waiting = try #require(firstInactivityHours(atOnce: 0), "without at_once: the silence never counted")
        let atOnce = try #require(firstInactivityHours(atOnce: 20), "at_once 20: the silence never counted")
        // 20 of the day's 24 logins have come by about 15:40: counted at the 16:00 re-scoring.
        #expect(atOnce <= 17, "at once: \(atOnce) h after going dark")
        #expect(waiting >= 24, "one and a half busiest days (36 logins) take into the second day: \(waiting) h")
    }
}
