import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// One message per account per channel: grouping alerts raised together, and rendering a group.
@Suite("Alert groups: one message per account per destination")
struct AlertGroupTests {
    static let week: Int64 = 7 * 86_400_000

    /// What one evaluation of Acme raises for one destination: at risk (critical, P1) and a drop (medium, P3).
    static func evaluation(destination: String = "team", account: String = "acme", at: Timestamp = Fixtures.raisedAt)
        -> [AlertRecord]
    {
        var score = Fixtures.score(score: 53, delta: -2, zone: .critical, previousZone: .atRisk)
        score.accountId = account
        score.validAt = at
        var risk = Fixtures.alert(.customerAtRisk, severity: .critical, score: score, destination: destination)
        risk.alertId = "risk-\(account)-\(at.millisecondsSinceEpoch)"
        risk.accountId = account
        risk.raisedAt = at
        risk.priority = Priority(level: 1)!
        risk.rule = "account-at-risk"
        var drop = Fixtures.alert(.healthScoreDrop, severity: .medium, score: score, destination: destination)
        drop.alertId = "drop-\(account)-\(at.millisecondsSinceEpoch)"
        drop.accountId = account
        drop.raisedAt = at
        drop.priority = Priority(level: 3)!
        drop.rule = "sharp-score-drop"
        drop.playbookURL = "https://playbooks.example.com/score-drop"
        drop.suggestedAction = "Check what changed before the next QBR."
        drop.drop = ScoreDrop(points: 26, fromScore: 79, fromAt: at.adding(days: -6), windowMs: week)
        return [drop, risk]
    }

    @Test func alertsOfOneEvaluationForOneAccountAndDestinationAreOneGroupLedByTheWorst() throws {
        let groups = AlertGroup.grouping(Self.evaluation())
        #expect(groups.count == 1)
        let g = try #require(groups.first)
        #expect(g.lead.type == .customerAtRisk)
        #expect(g.severity == .critical)
        #expect(g.priority == Priority(level: 1)!)
        #expect(
            Set(g.alertIds) == [
                "risk-acme-\(Fixtures.raisedAt.millisecondsSinceEpoch)",
                "drop-acme-\(Fixtures.raisedAt.millisecondsSinceEpoch)",
            ])
        #expect(g.deliveryKeys.allSatisfy { $0.hasSuffix("|team") })
        #expect(g.description.hasPrefix("acme -> team: customer_at_risk risk-acme-"))
    }

    @Test func otherAccountsDestinationsAndEvaluationsAreSeparateGroups() {
        let later = Fixtures.raisedAt.adding(days: 1)
        let alerts =
            Self.evaluation() + Self.evaluation(destination: "escalations") + Self.evaluation(account: "globex")
            + Self.evaluation(at: later)
        let groups = AlertGroup.grouping(alerts, windowMs: 2_000)
        #expect(groups.map(\.alerts.count) == [2, 2, 2, 2])
        #expect(groups.map(\.destination) == ["team", "escalations", "team", "team"])
        #expect(groups.map(\.accountId) == ["acme", "acme", "globex", "acme"])
        // A window wide enough joins the next day's evaluation, up to the group's size limit.
        #expect(
            AlertGroup.grouping(Self.evaluation() + Self.evaluation(at: later), windowMs: 2 * 86_400_000, maxAlerts: 3)
                .map(\.alerts.count) == [3, 1])
    }

    @Test func aDigestIsAlwaysAloneAndMixedGroupsAreRefused() {
        let digest = Fixtures.alert(.digest, destination: "team")
        #expect(AlertGroup.grouping([digest, digest]).map(\.alerts.count) == [1, 1])
        #expect(throws: SlackDeliveryError.invalidGroup(reason: "no alerts")) { try AlertGroup([]) }
        #expect(throws: SlackDeliveryError.invalidGroup(reason: "destinations team and escalations differ")) {
            try AlertGroup(Self.evaluation() + Self.evaluation(destination: "escalations"))
        }
        #expect(throws: SlackDeliveryError.self) { try AlertGroup(Self.evaluation() + [digest]) }
        #expect(throws: SlackDeliveryError.self) {
            try AlertGroup(Self.evaluation() + Self.evaluation(account: "globex"))
        }
    }

    @Test func theSameAlertTwiceIsOneEntry() throws {
        let e = Self.evaluation()
        #expect(try AlertGroup(e + e).alerts.count == 2)
        #expect(AlertGroup.grouping(e + e).map(\.alerts.count) == [2])
    }

    @Test func theGrouperWaitsOnTheWallClockThenReleasesOneGroup() {
        var grouper = AlertGrouper(groupWaitMs: 2_000)
        let t0 = Timestamp(millisecondsSinceEpoch: 1_000_000)
        let e = Self.evaluation()
        #expect(grouper.add(e[0], now: t0).isEmpty)
        #expect(grouper.add(e[1], now: t0.adding(milliseconds: 300)).isEmpty)
        #expect(grouper.add(Self.evaluation(account: "globex")[0], now: t0.adding(milliseconds: 500)).isEmpty)
        #expect(grouper.waitingAlerts == 3)
        #expect(grouper.nextDue == t0.adding(milliseconds: 2_000))
        #expect(grouper.takeDue(now: t0.adding(milliseconds: 1_999)).isEmpty)
        let due = grouper.takeDue(now: t0.adding(milliseconds: 2_000))
        #expect(due.map(\.accountId) == ["acme"])
        #expect(due.first?.alerts.count == 2)
        #expect(grouper.nextDue == t0.adding(milliseconds: 2_500))
        #expect(grouper.takeAll().map(\.accountId) == ["globex"])
        #expect(grouper.nextDue == nil)
        #expect(grouper.waitingAlerts == 0)
    }

    @Test func theGrouperSendsDigestsAndZeroWaitsAtOnce() {
        var grouper = AlertGrouper(groupWaitMs: 2_000)
        let now = Timestamp(millisecondsSinceEpoch: 5_000)
        #expect(grouper.add(Fixtures.alert(.digest), now: now).map(\.alerts.count) == [1])
        var immediate = AlertGrouper(groupWaitMs: 0)
        #expect(immediate.add(Self.evaluation()[0], now: now).count == 1)
        #expect(immediate.nextDue == nil)
    }

    @Test func theGrouperDoesNotMergeAReplayedBacklogAcrossDays() {
        var grouper = AlertGrouper(groupWaitMs: 2_000)
        let now = Timestamp(millisecondsSinceEpoch: 5_000)
        for alert in Self.evaluation() + Self.evaluation(at: Fixtures.raisedAt.adding(days: 1)) {
            _ = grouper.add(alert, now: now)
        }
        #expect(grouper.takeDue(now: now.adding(seconds: 2)).map(\.alerts.count) == [2, 2])
    }

    // MARK: - Rendering

    let renderer = SlackMessageRenderer()

    @Test func aGroupIsOneValidMessageListingEveryAlertWithItsReasons() throws {
        let group = try AlertGroup(Self.evaluation())
        let bytes = renderer.render(group)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        let msg = Fixtures.json(bytes)
        #expect(renderer.headerText(group) == "Acme Corp: customer at risk, health score drop · health 53")
        #expect(
            (msg["text"] as? String)?.hasPrefix("P1 · Critical · Acme Corp: customer at risk, health score drop")
                == true)
        let color = (msg["attachments"] as? [[String: Any]])?.first?["color"] as? String
        #expect(color == AlertColor.red.rawValue)
        let texts = Fixtures.allTexts(msg["attachments"] as Any).joined(separator: "\n")
        #expect(texts.contains("*Customer at risk* · Critical · P1"))
        #expect(texts.contains("*Critical, was at risk* at health 53"))
        #expect(texts.contains("*Health score drop* · Medium · P3"))
        #expect(texts.contains("Health 53, down 26 from 79 in 7 days"))
        #expect(texts.contains("*Next step:* Check what changed before the next QBR."))
        #expect(texts.contains("• Logins down 62% vs 28-day baseline (cost 12 points)"))
        for id in group.alertIds { #expect(texts.contains(id)) }
        #expect(texts.contains("Rules account-at-risk, sharp-score-drop"))
        #expect(texts.contains("Alerts: customer at risk "))
        #expect(!texts.contains("customer_at_risk"))
        let actions = try #require(Fixtures.attachmentBlocks(msg).first { $0["type"] as? String == "actions" })
        let labels = (actions["elements"] as? [[String: Any]])?.map {
            ($0["text"] as? [String: Any])?["text"] as? String
        }
        #expect(labels == ["Open account", "Playbook: customer at risk", "Playbook: health score drop"])
    }

    @Test func aGroupOfOneRendersExactlyLikeItsAlert() throws {
        let alert = Self.evaluation()[1]
        #expect(renderer.render(try AlertGroup([alert])) == renderer.render(alert))
    }

    @Test func aHugeGroupStaysInsideBlockKitLimits() throws {
        let alerts = (0..<60).map { i -> AlertRecord in
            var a = Self.evaluation()[i % 2]
            a.alertId = "al-\(i)"
            a.playbookURL = "https://playbooks.example.com/\(i)"
            return a
        }
        let group = try AlertGroup(alerts)
        let bytes = renderer.render(group)
        #expect(BlockKitValidator.validate(message: bytes) == [])
        #expect(Fixtures.allTexts(Fixtures.json(bytes)).joined().contains("more alerts"))
    }

    @Test func aWebhookGetsEveryRecordOfTheGroup() throws {
        let group = try AlertGroup(Self.evaluation())
        let body = Fixtures.json(try GenericWebhookPayload.body(for: group))
        #expect(body["event"] as? String == "alert_group")
        #expect((body["alerts"] as? [[String: Any]])?.compactMap { $0["alert_id"] as? String } == group.alertIds)
        let single = Fixtures.json(try GenericWebhookPayload.body(for: try AlertGroup([Self.evaluation()[0]])))
        #expect(single["event"] as? String == "alert")
    }

    @Test func aGroupIsPostedOnceToItsDestination() async throws {
        let h = try await SinkHarness.start(["team"])
        let group = try AlertGroup(Self.evaluation())
        #expect(await h.deliverer.submit(group) == .delivered(status: 200))
        let got = h.sink.requests(path: h.path("team"))
        #expect(got.count == 1)
        #expect(got.first.map { $0.body == renderer.render(group) } == true)
        await h.stop()
    }
}
