import AlertRules
import Contracts
import Foundation

/// Builders shared by the AlertRules tests: hand-made score records and small rules files.
enum TestSupport {
    static func time(_ text: String) -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else { fatalError("bad test time \(text)") }
        return t
    }

    static func record(
        _ account: String = "acme", at: String, score: Int, previous: Int? = nil, zone: Zone? = nil,
        tier: Tier? = .enterprise, mrr: Double? = 10_000, owner: String? = "U0OWNER",
        signals: [Signal] = [], positive: [Signal] = [], triggers: [Trigger] = [], cancellation: Bool = false
    ) -> ScoreRecord {
        let z = zone ?? (score >= 70 ? .healthy : score >= 40 ? .atRisk : .critical)
        let d = Double(score)
        return ScoreRecord(
            accountId: account, validAt: time(at), score: score, previousScore: previous,
            delta: previous.map { score - $0 } ?? 0, zone: z, previousZone: nil,
            components: FamilyScores(productUsage: d, engagement: d, support: d, commercial: d),
            signals: signals, positiveSignals: positive,
            profile: AccountProfile(
                name: account.capitalized, tier: tier, mrr: mrr, owner: owner, url: "https://crm.example.com/\(account)"
            ),
            triggers: triggers, eventIds: [], reasons: [.scoreStep], cancellationScheduled: cancellation)
    }

    static func trigger(_ type: TriggerType, ref: String?, at: String, event: String = UUID().uuidString) -> Trigger {
        Trigger(type: type, eventId: event, occurredAt: time(at), ref: ref)
    }

    static func signal(_ code: String, _ value: Double) -> Signal {
        Signal(code: code, family: .productUsage, text: "\(code) \(value)", impact: 1, value: value)
    }

    /// A rules file with one destination `all` taking everything (and `recovered`), plus extras.
    static func rules(
        _ rulesYAML: String, destinations: String = "  all: {}", routes: String? = nil, extra: String = "",
        defaults: String = ""
    ) -> String {
        """
        version: 1
        \(defaults.isEmpty ? "" : "defaults:\n\(defaults)")
        rules:
        \(rulesYAML)
        routes:
        \(routes ?? "  - {destination: all, match: {types: [customer_at_risk, health_score_drop, billing_retry_failed, expansion_signal, upsell_opportunity, recovered]}}")
        destinations:
        \(destinations)
        \(extra)
        """
    }

    static func engine(_ yaml: String) throws -> RulesEngine {
        RulesEngine(config: try RulesConfig.parse(yaml: yaml, file: "test-rules.yaml"))
    }

    static let atRiskRule = """
          - name: at-risk
            type: customer_at_risk
            when: {zone_in: [at_risk, critical]}
            severity: high
            severity_by_zone: {critical: critical}
        """

    /// Root of the repository (…/Tests/AlertRulesTests/TestSupport.swift -> …).
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}

/// Runs records through an engine with one account state, collecting every alert.
struct Run {
    let engine: RulesEngine
    var state = AccountAlertState()

    init(_ engine: RulesEngine) { self.engine = engine }

    mutating func feed(_ record: ScoreRecord) -> [AlertRecord] {
        engine.evaluate(record, state: &state)
    }
}
