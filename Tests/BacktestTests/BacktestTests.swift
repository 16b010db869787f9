import AlertRules
import Backtest
import Contracts
import Foundation
import HealthModel
import TestSupport
import Testing

@Suite struct BacktestTests {
    /// The reference: the sample's score records from `Replay`, evaluated by a `PartitionEvaluator`
    /// that releases what is due before each record, as the evaluator stage does.
    static func reference(_ engine: RulesEngine) -> [AlertRecord] {
        var replay = Replay()
        var evaluator = PartitionEvaluator(engine: engine)
        var alerts: [AlertRecord] = []
        var records: [ScoreRecord] = []
        var last = Timestamp(millisecondsSinceEpoch: 0)
        for line in Fixtures.generator.allLines() {
            line.withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } }
            for r in records {
                alerts += evaluator.advance(to: r.validAt)
                alerts += evaluator.process(r)
                last = max(last, r.validAt)
            }
            records.removeAll()
        }
        return alerts
    }

    @Test func alertsAreThoseOfTheStagesDomainCode() async throws {
        try await CPULane.run {
            let result = Fixtures.result
            let reference = Self.reference(try Fixtures.rules())
            #expect(reference.count >= 10, "the sample's stories alert")
            // The backtest ends by advancing to the last midnight and releasing what is due by the last
            // event: the reference is a prefix of it.
            #expect(Array(result.primary.alerts.prefix(reference.count)) == reference)
            #expect(result.badLineCount == 0 && result.summary.duplicates == 1)
            #expect(result.summary.accounts == 20)
        }
    }

    @Test func theOutputIsTheAlertsTopicsRecords() throws {
        let alerts = Fixtures.result.primary.alerts
        for alert in alerts {
            let bytes = try RecordCoding.encode(alert)
            #expect(try RecordCoding.decode(AlertRecord.self, from: bytes) == alert)
            #expect(!bytes.contains(0x0A), "one JSON per line")
        }
        // Deferred alerts come out released (with their not-before time), digests as digest records.
        #expect(alerts.contains { $0.notBefore != nil && $0.type != .digest })
        #expect(alerts.contains { $0.type == .digest })
        #expect(Set(alerts.map(\.deliveryKey)).count == alerts.count)
    }

    @Test func everyRaisedAlertIsAccountedFor() {
        let run = Fixtures.result.primary
        let now = run.raised.filter { $0.disposition == .now }.map { "\($0.alert.alertId)|\($0.alert.destination)" }
        let deferred = run.raised.filter { if case .deferred = $0.disposition { return true } else { return false } }
        let digested = run.raised.filter { if case .digest = $0.disposition { return true } else { return false } }
        let topicKeys = Set(run.alerts.filter { $0.type != .digest }.map(\.deliveryKey))
        #expect(Set(now).isSubset(of: topicKeys))
        let digestLines = run.alerts.filter { $0.type == .digest }.flatMap { $0.digestItems ?? [] }
        #expect(deferred.count + digested.count + now.count == run.raised.count)
        #expect(run.alerts.filter { $0.type != .digest }.count + digestLines.count + run.heldAtEnd == run.raised.count)
    }

    @Test func badLinesAreCountedWithTheirNumbersNotFatal() throws {
        let lines = Fixtures.generator.lines(forDay: 0).prefix(3).map { String(decoding: $0, as: UTF8.self) }
        let input = [
            lines[0], "not json", "", "{\"event_id\":\"x\"}", lines[1],
            lines[2].replacingOccurrences(of: "\"occurred_at\":\"", with: "\"occurred_at\":\"yesterday "),
        ].joined(separator: "\n")
        let result = Backtest.run(Array(input.utf8), engines: [try Fixtures.rules()])
        #expect(result.lines == 6)
        #expect(result.badLineCount == 3)
        #expect(result.badLines.map(\.number) == [2, 4, 6])
        #expect(result.badLines[0].reason.hasPrefix("invalid JSON"))
        #expect(result.badLines[1].reason.contains("account_id") || result.badLines[1].reason.contains("missing"))
        #expect(result.summary.applied == 2)
        let report = BacktestReport.inputLines(result)
        #expect(report.contains { $0 == "  line 6: occurred_at: not RFC 3339" }, "\(report)")
    }

    @Test func fromKeepsTheWarmUpButReportsOnlyTheLaterAlerts() async throws {
        try await CPULane.run {
            let from = Fixtures.day(50)
            let result = Backtest.run(Fixtures.sample, engines: [try Fixtures.rules()], options: .init(from: from))
            let full = Fixtures.result.primary.alerts.filter { $0.raisedAt >= from }
            #expect(!full.isEmpty)
            #expect(result.primary.alerts == full, "the same alerts after --from as the full history gives")
            #expect(result.primary.raised.allSatisfy { $0.alert.raisedAt >= from })
            #expect(result.series.allSatisfy { $0.points.allSatisfy { $0.at >= from } })
        }
    }

    @Test func toStopsTheHistoryAndAdvancesIdleAccountsToIt() async throws {
        try await CPULane.run {
            let to = Fixtures.day(53)
            let result = Backtest.run(Fixtures.sample, engines: [try Fixtures.rules()], options: .init(to: to))
            #expect(result.eventsAfterPeriod > 0)
            #expect(result.lastEventAt! <= to)
            #expect(result.primary.alerts.allSatisfy { $0.raisedAt <= to })
            // The silent account went dark on the story day (day 48): it is re-scored at the midnight of
            // `to`, which the watermark (the last event less an hour) has not passed.
            let silent = try #require(result.series.first { $0.accountId == Fixtures.generator.stories.silent })
            #expect(silent.points.last?.at == to)
            let full = try #require(Fixtures.result.series.first { $0.accountId == Fixtures.generator.stories.silent })
            #expect(silent.points == full.points.filter { $0.at <= to })
        }
    }

    @Test func twoRuleSetsShareTheScores() async throws {
        try await CPULane.run {
            let result = Backtest.run(Fixtures.sample, engines: [try Fixtures.rules(), try Fixtures.rules()])
            #expect(result.runs.count == 2)
            #expect(result.runs[0].alerts == result.runs[1].alerts)
            #expect(result.runs[0].alerts == Fixtures.result.primary.alerts)
        }
    }
}

@Suite struct FiguresTests {
    @Test func countsPerDestinationTypePriorityAndWeek() {
        let result = Fixtures.result
        let f = BacktestFigures(run: result.primary, from: result.firstEventAt, to: result.lastEventAt)
        #expect(f.destinationRecords == result.primary.raised.count)
        #expect(f.byType.reduce(0) { $0 + $1.1 } == f.alerts.count)
        #expect(f.byPriority.reduce(0) { $0 + $1.1 } == f.alerts.count)
        #expect(f.byWeek.reduce(0) { $0 + $1.1 } == f.alerts.count)
        #expect(f.byWeek.count == 9, "2026-09-01 (W36) to 2026-10-30 (W44)")
        #expect(f.byWeek.first?.0.description == "2026-W36")
        let cs = f.destinations.first { $0.destination == "cs-escalations" }
        #expect(cs.map { $0.now == $0.alerts } == true, "cs-escalations has no quiet hours")
        let health = f.destinations.first { $0.destination == "customer-health" }
        #expect((health?.digests ?? 0) >= 1 && (health?.digested ?? 0) >= 1)
        // The collapsing enterprise account is the noisiest.
        #expect(f.accounts.first?.accountId == Fixtures.generator.stories.collapse)
        #expect(f.rules.first.map { $0.alerts >= 2 } == true)
    }

    @Test func everyAlertNamesTheSignalsBehindIt() {
        let f = BacktestFigures(run: Fixtures.result.primary)
        #expect(f.alerts.allSatisfy { !$0.signals.isEmpty })
        let billing = f.alerts.first { $0.type == .billingRetryFailed }
        #expect(billing?.signals.first?.hasPrefix("billing_retry_failed P-") == true)
        let expansion = f.alerts.first { $0.type == .expansionSignal }
        #expect(expansion?.signals.first?.hasPrefix("Seats +") == true)
        let risk = f.alerts.first { $0.type == .customerAtRisk && $0.accountId == Fixtures.generator.stories.collapse }
        #expect(risk?.signals.contains { $0.contains("vs 28-day baseline") } == true)
        let text = BacktestReport.lines(Fixtures.result, figures: f).joined(separator: "\n")
        #expect(text.contains("noisiest accounts") && text.contains("by week") && text.contains("cs-escalations"))
    }

    @Test func isoWeeks() {
        #expect(ISOWeek(Timestamp(year: 2026, month: 1, day: 1)).description == "2026-W01")  // a Thursday
        #expect(ISOWeek(Timestamp(year: 2027, month: 1, day: 1)).description == "2026-W53")  // a Friday
        #expect(ISOWeek(Timestamp(year: 2024, month: 12, day: 30)).description == "2025-W01")  // a Monday
        #expect(ISOWeek(Timestamp(year: 2026, month: 10, day: 25, hour: 23)).description == "2026-W43")  // a Sunday
        #expect(ISOWeek(year: 2026, week: 43).start == Timestamp(year: 2026, month: 10, day: 19))
        #expect(
            ISOWeek.range(ISOWeek(year: 2026, week: 52), ISOWeek(year: 2027, week: 2)).map(\.description)
                == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"])
    }
}

@Suite struct StoryDetectionTests {
    @Test func theSampleStoriesAreDetectedWithinDaysAndOrdinaryAccountsNever() async throws {
        try await CPULane.run {
            let detection = StoryDetection(
                generator: Fixtures.generator,
                result: Backtest.run(
                    Fixtures.sample, engines: [try Fixtures.rules()],
                    options: .init(to: Fixtures.day(60))))
            #expect(detection.stories.map(\.story) == ["collapse", "silent"])
            for story in detection.stories {
                let hours = try #require(story.hoursToAtRisk, "\(story.story) detected")
                #expect(hours >= 0 && hours <= 72, "\(story.story): at risk \(hours) h after going dark")
                #expect(story.alertAt != nil && story.alertAt! >= story.atRiskAt!, "a churn-risk alert follows")
            }
            let collapse = try #require(detection.stories.first)
            #expect(collapse.tier == .enterprise && collapse.darkAt == Fixtures.day(50))
            #expect(collapse.criticalAt != nil)
            #expect(detection.ordinaryAccounts == 14)
            #expect(detection.ordinaryNotHealthy.isEmpty && detection.ordinaryAlerts.isEmpty)
            #expect(detection.upsellAt != nil, "the expanding account's lasting usage growth is an upsell opportunity")
            #expect(
                detection.lines.last
                    == "false positives: 0 of 14 ordinary accounts left healthy; 0 alerts on ordinary accounts")
        }
    }
}
