import AlertRules
import Contracts
import Testing

/// The changelog encoding: round-trips, and a restore neither repeats nor forgets an alert.
@Suite struct StateEncodingTests {
    typealias T = TestSupport

    static let rules =
        T.atRiskRule + """

              - name: drop
                type: health_score_drop
                when: {drop: {points: 10, within: 7d}}
                severity: medium
                cooldown: 0
              - name: billing
                type: billing_retry_failed
                when: {trigger: [billing_retry_failed]}
                severity: high
                cooldown: 0
              - name: seats
                type: expansion_signal
                when: {signal: {code: seats_growth, at_least: 0.2}}
                severity: low
              - name: back
                type: recovered
                when: {episode_ended: at-risk}
                severity: low
            """

    static let destinations = """
          team:
            quiet_hours:
              timezone: America/New_York
              windows: [{days: every_day, from: "19:00", to: "08:00"}]
            digest: {every: day, at: "09:00", max_severity: low}
        """

    static func story() -> [ScoreRecord] {
        let t1 = T.trigger(.billingRetryFailed, ref: "inv-1", at: "2026-11-03T02:00:00Z", event: "e1")
        return [
            T.record(at: "2026-11-02T15:00:00Z", score: 85),
            T.record(at: "2026-11-02T16:00:00Z", score: 88, positive: [T.signal("seats_growth", 0.3)]),
            T.record(at: "2026-11-03T02:00:00Z", score: 66, signals: [T.signal("logins_down", -0.6)], triggers: [t1]),
            T.record(at: "2026-11-03T03:00:00Z", score: 64, triggers: [t1]),
            T.record(at: "2026-11-03T15:00:00Z", score: 50),
            T.record(at: "2026-11-04T15:00:00Z", score: 35),
            T.record(at: "2026-11-06T15:00:00Z", score: 80),
            T.record(at: "2026-11-07T15:00:00Z", score: 81),
        ]
    }

    static let engineYAML = T.rules(
        rules, destinations: destinations,
        routes:
            "  - {destination: team, match: {types: [customer_at_risk, health_score_drop, billing_retry_failed, expansion_signal, recovered]}}"
    )

    /// Alerts of the story, with the account's state (and the destinations' schedule states, the
    /// dispatcher's) encoded and decoded before every step when `restoring`.
    static func play(restoring: Bool) throws -> (alerts: [AlertRecord], sizes: [Int]) {
        let engine = try T.engine(engineYAML)
        var p = PartitionEvaluator(engine: engine)
        var out: [AlertRecord] = []
        var sizes: [Int] = []
        for record in story() {
            if restoring {
                let state = p.state(of: "acme") ?? AccountAlertState()
                let bytes = try state.encoded()
                sizes.append(bytes.count)
                let restored = try AccountAlertState(decoding: bytes)
                #expect(restored == state)
                var next = PartitionEvaluator(engine: engine)
                next.restore(account: "acme", state: restored)
                for (destination, held) in p.destinationStates {
                    next.restore(
                        destination: destination, state: try DestinationScheduleState(decoding: held.encoded()))
                }
                p = next
            }
            out += p.advance(to: record.validAt)
            out += p.process(record)
        }
        return (out, sizes)
    }

    @Test func restoringBeforeEveryRecordNeitherRepeatsNorForgets() throws {
        let straight = try Self.play(restoring: false)
        let restored = try Self.play(restoring: true)
        // The story raises alerts of every kind, deferred ones and a digest included.
        let types = Set(straight.alerts.map(\.type))
        #expect(types.isSuperset(of: [.customerAtRisk, .healthScoreDrop, .billingRetryFailed, .digest]))
        #expect(straight.alerts.contains { $0.notBefore != nil && $0.type != .digest })
        #expect(restored.alerts == straight.alerts)
        #expect(Set(straight.alerts.map(\.deliveryKey)).count == straight.alerts.count)
        // Compact: a few dozen bytes (holds are the dispatcher's).
        #expect(restored.sizes[1] < 64)
    }

    @Test func roundTripOfAStateHoldingEverything() throws {
        let engine = try T.engine(Self.engineYAML)
        var state = AccountAlertState()
        for record in Self.story().prefix(4) { _ = engine.evaluate(record, state: &state) }
        #expect(!state.isEmpty)
        let bytes = try state.encoded()
        #expect(bytes.first == AccountAlertState.encodingVersion)
        #expect(try AccountAlertState(decoding: bytes) == state)
        #expect(try AccountAlertState(decoding: AccountAlertState().encoded()) == AccountAlertState())
        #expect(AccountAlertState().isEmpty)
    }

    /// A value an earlier evaluator wrote while it still held quiet hours and digests: one deferred
    /// alert and one digest item after an empty account state (version 3 layout).
    static func earlierValue(deferred: AlertRecord, item: DigestItem, due: Timestamp) throws -> [UInt8] {
        func varint(_ value: UInt64) -> [UInt8] {
            var v = value
            var out: [UInt8] = []
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            return out + [UInt8(v)]
        }
        func blob(_ bytes: [UInt8]) -> [UInt8] { varint(UInt64(bytes.count)) + bytes }
        let ms = due.millisecondsSinceEpoch
        return [3, 0, 0, 0, 0, 0] + varint(1) + blob(try RecordCoding.encode(deferred)) + varint(1)
            + blob(Array("team".utf8)) + varint(UInt64(bitPattern: (ms << 1) ^ (ms >> 63))) + [3]
            + blob(try RecordCoding.encode(item)) + [0, 0]
    }

    @Test func holdsAnEarlierEvaluatorKeptAreReadHandedOnWhenDueAndNotWrittenAgain() throws {
        let night = T.record(at: "2026-11-18T04:00:00Z", score: 60)
        var deferred = AlertRecord(
            alertId: "held-1", type: .customerAtRisk, severity: .high, priority: Priority(level: 2)!,
            destination: "team", accountId: "acme", raisedAt: night.validAt, score: night)
        deferred.notBefore = T.time("2026-11-18T13:00:00Z")
        let item = DigestItem(
            alertId: "seats-1", type: .expansionSignal, severity: .low, accountId: "acme", accountName: "Acme",
            score: 88, delta: 0, zone: .healthy, headline: "Seats up 30%", url: nil, at: night.validAt, drop: nil)
        let due = T.time("2026-11-18T14:00:00Z")
        var state = try AccountAlertState(decoding: Self.earlierValue(deferred: deferred, item: item, due: due))
        #expect(state.earlierHolds.deferred == [deferred])
        #expect(state.earlierHolds.digestItems.map(\.item) == [item])
        #expect(state.nextDue == T.time("2026-11-18T13:00:00Z"))
        #expect(!state.isEmpty)
        // Nothing before its time; then the alert with its not-before, for the dispatcher to hold.
        #expect(state.takeEarlierHolds(dueBy: T.time("2026-11-18T12:59:59Z")).alerts.isEmpty)
        let first = state.takeEarlierHolds(dueBy: T.time("2026-11-18T13:00:00Z"))
        #expect(first.alerts == [deferred] && first.digestItems.isEmpty)
        let second = state.takeEarlierHolds(dueBy: due)
        #expect(second.alerts.isEmpty)
        let digests = AccountAlertState.EarlierHolds.digests(of: second.digestItems, policies: [:])
        #expect(digests.count == 1)
        #expect(digests.first?.type == .digest)
        #expect(digests.first?.notBefore == due)
        #expect(digests.first?.digestItems == [item])
        #expect(
            digests.first?.alertId == AlertId.make(["digest", "team", String(due.millisecondsSinceEpoch), "seats-1"]))
        // Handed on: the state is written in the new form, without holds, and is empty.
        #expect(state.isEmpty)
        #expect(try state.encoded() == AccountAlertState().encoded())
    }

    @Test func corruptOrNewerBytesAreRejectedWithAReason() throws {
        let engine = try T.engine(Self.engineYAML)
        var state = AccountAlertState()
        for record in Self.story().prefix(3) { _ = engine.evaluate(record, state: &state) }
        let bytes = try state.encoded()
        #expect(throws: AlertRulesError.unsupportedStateVersion(9)) {
            try AccountAlertState(decoding: [9] + bytes.dropFirst())
        }
        for cut in [1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: AlertRulesError.self) { try AccountAlertState(decoding: bytes.prefix(cut)) }
        }
        #expect(throws: AlertRulesError.self) { try AccountAlertState(decoding: bytes + [0]) }
        #expect(throws: AlertRulesError.self) { try AccountAlertState(decoding: []) }
    }

    // Versions N-1 and N-2 are read: a rolling deploy restores values the previous versions wrote.
    @Test func earlierVersionValuesAreStillRead() throws {
        let engine = try T.engine(T.rules(Self.rules))
        var run = Run(engine)
        let atRisk = T.record(at: "2026-11-01T12:00:00Z", score: 60)
        #expect(run.feed(atRisk).count == 1)
        let v6 = try run.state.encoded()
        #expect(v6.first == 6, "written as version 6")
        #expect(try AccountAlertState(decoding: v6).encoded() == v6, "version 6 round-trips")
        // The same state as version 5 wrote it: no opening messages at the end (a zero count: 1 byte).
        let v5: [UInt8] = [5] + v6.dropFirst().dropLast(1)
        #expect(try AccountAlertState(decoding: v5).encoded() == v6, "a version-5 value decodes to the same state")
        // The same state as version 4 wrote it: no SLA clocks at the end (a zero count: 1 byte).
        let v4: [UInt8] = [4] + v5.dropFirst().dropLast(1)
        #expect(try AccountAlertState(decoding: v4).encoded() == v6, "a version-4 value decodes to the same state")
        // The same state as version 3 wrote it: no action memory at the end (an empty blob: 1 byte).
        let v3: [UInt8] = [3] + v4.dropFirst().dropLast(1)
        #expect(
            try AccountAlertState(decoding: v3).encoded() == v6,
            "a version-3 value decodes to the same state, with the records' identities")
        // The same state as version 2 wrote it: no identities at the end (one here: 1 + 8 bytes).
        let v2: [UInt8] = [2] + v3.dropFirst().dropLast(9)
        var fromV2 = try AccountAlertState(decoding: v2)
        #expect(
            try fromV2.encoded() == [6] + v2.dropFirst() + [0, 0, 0, 0],
            "a version-2 value decodes to the same state, without identities")
        // Without identities the last record again is evaluated, and raises nothing: its episode is
        // open and not due again at the same time.
        #expect(engine.evaluate(atRisk, state: &fromV2).isEmpty)
        // An empty state as version 1 wrote it: no evaluation time, no identities.
        let empty6 = try AccountAlertState().encoded()
        let empty1: [UInt8] = [1] + empty6.dropFirst().dropLast(5)
        #expect(
            try AccountAlertState(decoding: empty1).encoded() == empty6,
            "a version-1 value decodes to the same state")
    }

    // At-least-once upstream: a score record seen again raises nothing, the last one or an older one.
    @Test func aRepeatedOrOlderScoreRecordIsNotEvaluatedAgain() throws {
        var run = Run(try T.engine(T.rules(Self.rules)))
        let first = T.record(at: "2026-11-01T12:00:00Z", score: 90)
        let drop = T.record(at: "2026-11-02T12:00:00Z", score: 70)
        _ = run.feed(first)
        #expect(!run.feed(drop).isEmpty, "the drop alerts")
        #expect(run.feed(first).isEmpty, "an older record again raises nothing")
        #expect(run.feed(drop).isEmpty, "the same record again raises nothing")
    }
}
