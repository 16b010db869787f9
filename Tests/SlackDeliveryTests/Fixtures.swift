import Contracts
import Foundation
import Logging

@testable import SlackDelivery

/// Sample alerts for every type, built the way the evaluator fills them.
enum Fixtures {
    static let raisedAt = Timestamp(year: 2026, month: 11, day: 20, hour: 10)

    static func score(
        name: String = "Acme Corp", score: Int = 32, delta: Int = -18, zone: Zone = .critical,
        previousZone: Zone? = .atRisk,
        signals: [Signal]? = nil, positive: [Signal] = [], url: String? = "https://crm.example.com/accounts/acme",
        owner: String? = "U024BE7LH"
    ) -> ScoreRecord {
        ScoreRecord(
            accountId: "acme", validAt: raisedAt, score: score, previousScore: score - delta, delta: delta, zone: zone,
            previousZone: previousZone,
            components: FamilyScores(productUsage: 20, engagement: 35, support: 40, commercial: 30),
            signals: signals ?? [
                Signal(
                    code: SignalCode.loginsDown, family: .productUsage, text: "Logins down 62% vs 28-day baseline",
                    impact: -12, value: -0.62, baseline: 140),
                Signal(
                    code: SignalCode.ticketSpike, family: .support, text: "5 tickets opened in 7 days (normal 1)",
                    impact: -6),
                Signal(code: SignalCode.detractorNPS, family: .engagement, text: "NPS 3 from the champion", impact: -4),
            ],
            positiveSignals: positive,
            profile: AccountProfile(
                name: name, tier: .enterprise, mrr: 12_400, owner: owner, url: url, renewalDate: "2027-01-31",
                timezone: "Europe/Paris"),
            triggers: [], eventIds: ["e-1", "e-2"], reasons: [.zoneChange], cancellationScheduled: false)
    }

    static func alert(
        _ type: AlertType, severity: Severity = .critical, score: ScoreRecord? = Fixtures.score(),
        destination: String = "cs-test"
    ) -> AlertRecord {
        var a = AlertRecord(
            alertId: "al-\(type.rawValue)-acme-1", type: type, severity: severity, priority: Priority(level: 2)!,
            destination: destination,
            accountId: "acme", raisedAt: raisedAt, score: score, mention: score?.profile.owner,
            suggestedAction: "Call the champion this week and review the onboarding plan.",
            playbookURL: "https://playbooks.example.com/churn-risk?step=1&lang=en", rule: "critical-zone")
        switch type {
        case .billingRetryFailed:
            a.trigger = Trigger(
                type: .billingRetryFailed, eventId: "e-9", occurredAt: raisedAt, ref: "in-123", amount: 1200.5,
                currency: "USD")
        case .expansionSignal, .upsellOpportunity:
            a.score = Fixtures.score(
                score: 88, delta: 6, zone: .healthy, previousZone: .healthy,
                positive: [
                    Signal(
                        code: SignalCode.seatsGrowth, family: .commercial, text: "Seats up 40% in 30 days (50 → 70)",
                        impact: 8),
                    Signal(
                        code: SignalCode.featureAdoption, family: .productUsage, text: "Adopted 3 premium features",
                        impact: 5),
                ])
            a.suggestedAction = "Offer the annual enterprise plan."
        case .recovered:
            a.score = Fixtures.score(score: 74, delta: 22, zone: .healthy, previousZone: .critical)
            a.suggestedAction = "Close the risk playbook."
        case .digest:
            a.score = nil
            a.digestTitle = "Daily digest for 2026-11-20"
            a.digestItems = digestItems(3)
        default:
            break
        }
        return a
    }

    static func digestItems(_ n: Int) -> [DigestItem] {
        (0..<n).map { i in
            DigestItem(
                alertId: "al-\(i)", type: i % 3 == 0 ? .expansionSignal : .healthScoreDrop,
                severity: i % 2 == 0 ? .medium : .high,
                accountId: "acct-\(i)", accountName: "Account \(i)", score: 50 + i % 40, delta: -(i % 15),
                zone: .atRisk,
                headline: "Logins down \(i % 90)% vs 28-day baseline", url: "https://crm.example.com/accounts/\(i)",
                at: raisedAt)
        }
    }

    static func json(_ bytes: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    /// Every `text` string anywhere in the message.
    static func allTexts(_ any: Any) -> [String] {
        if let d = any as? [String: Any] {
            var out: [String] = []
            for (k, v) in d {
                if k == "text", let s = v as? String { out.append(s) } else { out += allTexts(v) }
            }
            return out
        }
        if let a = any as? [Any] { return a.flatMap(allTexts) }
        return []
    }

    static func attachmentBlocks(_ msg: [String: Any]) -> [[String: Any]] {
        ((msg["attachments"] as? [[String: Any]])?.first?["blocks"] as? [[String: Any]]) ?? []
    }
}

/// A swift-log handler that keeps every line it gets (message, metadata, source), for asserting
/// what was logged.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line =
            "\(event.level) \(event.message) \(event.error.map { "\($0)" } ?? "") \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) \(event.source)"
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    var recorded: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    func logger() -> Logger {
        Logger(label: "test") { _ in self }
    }
}
