import AlertRules
import Contracts
import Testing

/// Time per destination in the dispatcher: hold, digest or deliver; release on the wall clock;
/// one digest per destination per due time; a compact, versioned state.
@Suite struct DestinationScheduleTests {
    typealias T = TestSupport

    /// #team: New York nights quiet (19:00-08:00), low alerts in a 09:00 digest. #pager: no policy.
    static let schedule = DestinationSchedule(policies: [
        "team": DestinationPolicy(
            quietHours: QuietHours(
                timeZone: "America/New_York", windows: [.init(days: Set(0...6), fromMinute: 19 * 60, toMinute: 8 * 60)]),
            digest: DigestSchedule(period: .day, atMinute: 9 * 60, timeZone: "America/New_York", maxSeverity: .low))
    ])

    static func alert(
        _ id: String, _ type: AlertType = .customerAtRisk, severity: Severity = .high, account: String = "acme",
        destination: String = "team", at: String = "2026-11-18T01:00:00Z", notBefore: String? = nil
    ) -> AlertRecord {
        AlertRecord(
            alertId: id, type: type, severity: severity, priority: Priority(level: severity == .low ? 9 : 2)!,
            destination: destination,
            accountId: account, raisedAt: T.time(at), notBefore: notBefore.map(T.time),
            score: T.record(account, at: at, score: 55, signals: [T.signal("logins_down", -0.5)]))
    }

    // 01:00Z on Wednesday 2026-11-18 is 20:00 in New York: quiet until 08:00 EST = 13:00Z.
    static let night = T.time("2026-11-18T01:00:00Z")
    static let morning = T.time("2026-11-18T13:00:00Z")
    static let digestTime = T.time("2026-11-18T14:00:00Z")

    @Test func decisions() {
        let s = Self.schedule
        #expect(s.decide(Self.alert("a"), now: Self.night) == .holdUntil(Self.morning))
        #expect(s.decide(Self.alert("a", severity: .critical), now: Self.night) == .deliverNow)
        #expect(s.decide(Self.alert("a"), now: T.time("2026-11-18T15:00:00Z")) == .deliverNow)
        #expect(
            s.decide(Self.alert("a", .expansionSignal, severity: .low), now: Self.night)
                == .digest(due: Self.digestTime))
        #expect(s.decide(Self.alert("a", destination: "pager"), now: Self.night) == .deliverNow)
        // Already deferred by the evaluator (today's behaviour): held until its own time.
        let deferred = Self.alert("a", severity: .critical, notBefore: "2026-11-18T05:00:00Z")
        #expect(s.decide(deferred, now: Self.night) == .holdUntil(T.time("2026-11-18T05:00:00Z")))
        var digest = Self.alert("d", .digest, severity: .low)
        digest.accountId = "*"
        #expect(s.decide(digest, now: Self.night) == .deliverNow)
    }

    @Test func heldAlertsAreReleasedAtTheirTimeOnTheWallClock() {
        var state = DestinationScheduleState()
        let s = Self.schedule
        #expect(s.admit(Self.alert("b"), now: Self.night, state: &state) == .holdUntil(Self.morning))
        #expect(
            s.admit(Self.alert("a", .healthScoreDrop), now: Self.night.adding(seconds: 600), state: &state)
                == .holdUntil(Self.morning))
        // A redelivered record keeps one copy.
        _ = s.admit(Self.alert("b"), now: Self.night.adding(seconds: 700), state: &state)
        #expect(state.held.count == 2)
        #expect(state.nextDue == Self.morning)
        #expect(s.takeDue(now: Self.morning.adding(milliseconds: -1), destination: "team", state: &state).isEmpty)
        let release = s.takeDue(now: Self.morning, destination: "team", state: &state)
        #expect(release.released.map(\.alertId) == ["a", "b"])
        #expect(release.released.allSatisfy { $0.notBefore == Self.morning })
        #expect(release.digests.isEmpty)
        #expect(state.isEmpty)
        #expect(state.nextDue == nil)
    }

    @Test func aPartitionReleasesEveryDestinationDueAtOnce() {
        let s = DestinationSchedule(
            policies: Self.schedule.policies.merging([
                "billing": DestinationPolicy(
                    quietHours: QuietHours(
                        timeZone: "Europe/Berlin",
                        windows: [.init(days: Set(0...6), fromMinute: 20 * 60, toMinute: 7 * 60 + 30)]))
            ]) { $1 })
        var states: [String: DestinationScheduleState] = [:]
        _ = s.admit(Self.alert("t", destination: "team"), now: Self.night, state: &states["team", default: .init()])
        _ = s.admit(
            Self.alert("b", destination: "billing"), now: Self.night, state: &states["billing", default: .init()])
        // 07:30 in Berlin (06:30Z) comes before 08:00 in New York (13:00Z).
        #expect(DestinationSchedule.nextDue(states) == T.time("2026-11-18T06:30:00Z"))
        #expect(
            s.takeDue(now: T.time("2026-11-18T06:30:00Z"), states: &states).released.map(\.destination) == ["billing"])
        #expect(DestinationSchedule.nextDue(states) == Self.morning)
        #expect(s.takeDue(now: Self.morning, states: &states).released.map(\.destination) == ["team"])
        #expect(states.values.allSatisfy { $0.isEmpty })
        #expect(DestinationSchedule.nextDue(states) == nil)
    }

    @Test func anItemLateForADigestAlreadySentGoesToTheNextOne() {
        let s = Self.schedule
        var state = DestinationScheduleState()
        _ = s.admit(Self.alert("x", .expansionSignal, severity: .low), now: Self.night, state: &state)
        #expect(s.takeDue(now: Self.digestTime, destination: "team", state: &state).digests.count == 1)
        #expect(state.lastDigestDue == Self.digestTime)
        // A clock a little behind (another dispatcher after a rebalance) must not make a second
        // digest for 14:00Z: it would carry the same id and the delivery log would drop it.
        let next = T.time("2026-11-19T14:00:00Z")
        #expect(
            s.admit(
                Self.alert("y", .expansionSignal, severity: .low), now: Self.digestTime.adding(seconds: -5),
                state: &state) == .digest(due: next))
        #expect(s.takeDue(now: Self.digestTime, destination: "team", state: &state).isEmpty)
        #expect(state.nextDue == next)
        #expect(!state.isEmpty)
    }

    @Test func aVersion1ValueStillDecodes() throws {
        // Version 1 as documented: version byte, held alerts, digest entries (no last-digest time).
        let held = Self.alert("a", notBefore: "2026-11-18T13:00:00Z")
        let item = DigestItem(
            alertId: "x", type: .expansionSignal, severity: .low, accountId: "acme", accountName: "Acme", score: 80,
            delta: 2,
            zone: .healthy, headline: "Seats up 30%", url: nil, at: Self.night)
        let heldJSON = try RecordCoding.encode(held)
        let itemJSON = try RecordCoding.encode(item)
        func varint(_ v: Int) -> [UInt8] {
            var out: [UInt8] = []
            var n = v
            while n >= 0x80 {
                out.append(UInt8(n & 0x7F) | 0x80)
                n >>= 7
            }
            return out + [UInt8(n)]
        }
        let due = Self.digestTime.millisecondsSinceEpoch
        let v1: [UInt8] =
            [1] + varint(1) + varint(heldJSON.count) + heldJSON
            + varint(1) + varint(Int(due << 1)) + [9] + varint(itemJSON.count) + itemJSON
        let state = try DestinationScheduleState(decoding: v1)
        #expect(state.held == [held])
        #expect(state.digestEntries.map(\.item) == [item])
        #expect(state.digestEntries.first?.due == Self.digestTime)
        #expect(state.digestEntries.first?.priority == Priority(level: 9))
        #expect(state.lastDigestDue == nil)
        // Written back, it is the current version and reads the same.
        let current = try state.encoded()
        #expect(current.first == 2)
        #expect(try DestinationScheduleState(decoding: current) == state)
    }

    @Test func oneDigestPerDestinationPerDueTimeHoweverManySourcesFedIt() throws {
        let s = Self.schedule
        // Items from accounts that different evaluator partitions own, arriving in any order.
        func run(_ accounts: [String]) -> [AlertRecord] {
            var state = DestinationScheduleState()
            for (i, account) in accounts.enumerated() {
                _ = s.admit(
                    Self.alert("x-\(account)", .expansionSignal, severity: .low, account: account),
                    now: Self.night.adding(seconds: Int64(i)), state: &state)
            }
            // The next day's item waits for the next digest.
            _ = s.admit(
                Self.alert("late", .upsellOpportunity, severity: .low), now: Self.digestTime.adding(seconds: 60),
                state: &state)
            return s.takeDue(now: Self.digestTime, destination: "team", state: &state).digests
        }
        let digests = run(["globex", "acme", "initech"])
        #expect(digests.count == 1)
        let digest = try #require(digests.first)
        #expect(digest.type == .digest)
        #expect(digest.destination == "team")
        #expect(digest.notBefore == Self.digestTime)
        #expect(digest.digestTitle == "Daily digest for 2026-11-18")
        #expect(Set(digest.digestItems?.map(\.accountId) ?? []) == ["globex", "acme", "initech"])
        // The id names the destination and the due time only: a retry after a partial restore has the same id.
        #expect(run(["acme"]).first?.alertId == digest.alertId)
        #expect(digest.alertId == AlertId.make(["digest", "team", String(Self.digestTime.millisecondsSinceEpoch)]))
    }

    @Test func theStateRoundTripsCompactlyAndIsNeverEmpty() throws {
        let empty = try DestinationScheduleState().encoded()
        // An empty state is a few bytes, never none (an empty value would read as a tombstone).
        #expect(empty.first == DestinationScheduleState.encodingVersion)
        #expect((1...4).contains(empty.count))
        #expect(try DestinationScheduleState(decoding: empty) == DestinationScheduleState())

        var state = DestinationScheduleState()
        _ = Self.schedule.admit(Self.alert("a"), now: Self.night, state: &state)
        _ = Self.schedule.admit(Self.alert("x", .expansionSignal, severity: .low), now: Self.night, state: &state)
        _ = Self.schedule.takeDue(now: Self.digestTime, destination: "team", state: &state)
        _ = Self.schedule.admit(Self.alert("y", .expansionSignal, severity: .low), now: Self.night, state: &state)
        #expect(state.lastDigestDue != nil)
        let bytes = try state.encoded()
        #expect(try DestinationScheduleState(decoding: bytes) == state)
        #expect(throws: AlertRulesError.self) { try DestinationScheduleState(decoding: bytes.dropLast()) }
        #expect(throws: AlertRulesError.self) { try DestinationScheduleState(decoding: bytes + [0]) }
        #expect(throws: AlertRulesError.unsupportedStateVersion(200)) { try DestinationScheduleState(decoding: [200]) }
        #expect(throws: AlertRulesError.self) { try DestinationScheduleState(decoding: []) }
    }
}
