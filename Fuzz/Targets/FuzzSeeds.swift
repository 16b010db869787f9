import Contracts
import Foundation
import HealthModel
import Kafka
import SlackDelivery
import Stages

@testable import AlertRules
@testable import WorkerRuntime

/// `fleet-fuzz --write-seeds <dir>`: the starting corpus of every target, from the repository's real
/// examples: a seeded sample's events, the scores and states the health model makes of them, the
/// alerts and evaluator states `config/rules.yaml` makes of those, `config/` files, signed links.
/// Run from the repository's root (it reads `config/`); `scripts/fuzz --write-seeds` writes
/// `Fuzz/corpus`.
enum FuzzSeeds {
    static func write(to root: String) throws {
        var seeds: [String: [(String, [UInt8])]] = [:]
        func add(_ target: String, _ name: String, _ bytes: [UInt8]) {
            seeds[target, default: []].append((name, bytes))
        }
        func text(_ target: String, _ name: String, _ text: String) { add(target, name, Array(text.utf8)) }

        // Events: the first of each type in a small seeded sample (with its stories), and bad ones.
        let sample = SampleGenerator(options: .init(seed: 42, accounts: 12, days: 40)).allLines()
        var types = Set<String>()
        let parser = EventParser()
        for line in sample {
            guard let event = try? parser.parse(line), types.insert(event.typeName).inserted else { continue }
            add("event-parser", event.typeName, line)
        }
        text("event-parser", "bad-json", #"{"event_id": "e-1", "account_id": "acme", "type": "login""#)
        text(
            "event-parser", "bad-time",
            #"{"event_id":"e-2","account_id":"acme","type":"login","occurred_at":"2026-13-01T00:00:00Z"}"#)
        text(
            "event-parser", "escapes",
            #"{"event_id":"e\u00e9-3","account_id":"ac\"me","type":"log\u0069n","#
                + #""occurred_at":"2026-11-20T10:00:00.5+02:00","user_id":7,"properties":{"x":[1,{"y":null}]}}"#
        )

        // Scores and scorer states: a replay of the sample.
        var replay = Replay()
        var scores: [ScoreRecord] = []
        for line in sample { line.withUnsafeBufferPointer { replay.process(line: $0) { scores.append($0) } } }
        let picked = pick(scores, 8) {
            "\($0.zone)-\($0.triggers.first?.type.rawValue ?? "none")-\($0.reasons.first?.rawValue ?? "")"
        }
        for (i, score) in picked.enumerated() {
            add("score-record", "score-\(i)", try RecordCoding.encode(score))
            add("score-record-decoder", "score-\(i)", try RecordCoding.encode(score))
        }
        text(
            "score-record-decoder", "layout",
            #" {"zz":[1,{"a":[true,null]},-],"schema":1,"account_id":"ac\u006de","valid_at":"2026-11-20T10:00:00.5+01:00","#
                + #""score":32.0,"delta":-1.8E1,"zone":"critical","zone":7,"components":{"product_usage":2e1,"#
                + #""engagement":40,"support":30,"commercial":35,},"signals":[],"positive_signals":[],"profile":{},"#
                + #""triggers":[],"event_ids":["e\ud83d\ude00"],"reasons":[],"cancellation_scheduled":false} "#)
        for (i, account) in replay.accountIds.prefix(4).enumerated() {
            guard let state = replay.state(of: account) else { continue }
            add("scorer-state", "state-\(i)", state.encode())
            add(
                "changelog-envelope", "scorer-\(i)",
                ChangelogEnvelope(
                    epoch: 1_800_000_000_000 + Int64(i), applied: [0: 41, 1: 7],
                    payload: state.encode()
                ).bytes)
        }
        add("scorer-state", "fresh", AccountState(accountId: "acme").encode())

        // Population parts: none yet, and the sample's activity split over two partitions.
        add("population-part", "empty", PopulationPart().encoded())
        var parts = [PopulationPart(), PopulationPart()]
        for line in sample {
            guard let event = try? parser.parse(line) else { continue }
            let p = event.accountId.utf8.reduce(0) { $0 &+ Int($1) } % 2
            let day = event.occurredAt.epochDay
            if day - 1 > parts[p].sealedThrough { parts[p].seal(through: day - 1) }
            parts[p].count(applied: event, activeBefore: .min, activeAfter: Int32(day))
            parts[p].reachedMilliseconds = event.occurredAt.millisecondsSinceEpoch / 3_600_000 * 3_600_000
        }
        for (i, part) in parts.enumerated() { add("population-part", "part-\(i)", part.encoded()) }

        // Alerts and evaluator states: the example rules over those scores.
        let rulesYAML = try String(contentsOfFile: "config/rules.yaml", encoding: .utf8)
        var evaluator = PartitionEvaluator(
            engine: RulesEngine(config: try RulesConfig.parse(yaml: rulesYAML, file: "config/rules.yaml")))
        var alerts: [AlertRecord] = []
        for score in scores { alerts += evaluator.process(score) }
        if let last = scores.last { alerts += evaluator.advance(to: last.validAt.adding(days: 8)) }
        let pickedAlerts = pick(alerts, 8) { "\($0.type.rawValue)-\($0.digestItems == nil)-\($0.notBefore == nil)" }
        for (i, alert) in pickedAlerts.enumerated() {
            add("alert-record", "alert-\(i)", try RecordCoding.encode(alert))
        }
        for (i, (_, state)) in evaluator.states.sorted(by: { $0.key < $1.key }).prefix(4).enumerated() {
            add("evaluator-state", "state-\(i)", try state.encoded())
        }

        // The dispatcher: a schedule holding alerts and digest items; delivery log values.
        var schedule = DestinationScheduleState()
        schedule.held = Array(pickedAlerts.prefix(2))
        if let item = alerts.lazy.compactMap({ $0.digestItems?.first }).first {
            schedule.digestEntries = [
                .init(
                    due: Timestamp(year: 2026, month: 11, day: 20, hour: 9), priority: Priority(level: 3)!, item: item)
            ]
            add("alert-record", "digest-item", try RecordCoding.encode(item))
        }
        add("dispatcher-state", "empty", DestinationScheduleState().stateBytes)
        add("dispatcher-state", "held", schedule.stateBytes)
        schedule.lastDigestDue = Timestamp(year: 2026, month: 11, day: 19, hour: 9)
        add("dispatcher-state", "digest", schedule.stateBytes)
        let at = Timestamp(year: 2026, month: 11, day: 20, hour: 10)
        add(
            "dispatcher-state", "delivered",
            try RecordCoding.encode(
                DeliveryLogEntry(
                    alertId: "a-1", destination: "cs-escalations", accountId: "acme", type: "customer_at_risk",
                    deliveredAt: at, status: 200, retries: 1, messageAlertIds: ["a-1", "a-2"])))
        add(
            "dispatcher-state", "posting",
            try RecordCoding.encode(
                DeliveryIntent(
                    alertId: "a-1", destination: "cs-escalations", accountId: "acme", type: "customer_at_risk",
                    postingAt: at, messageAlertIds: ["a-1"])))
        add("changelog-envelope", "dispatcher", ChangelogEnvelope(epoch: 7, payload: schedule.stateBytes).bytes)
        add("changelog-envelope", "deleted", ChangelogEnvelope(epoch: 8, deleted: true, payload: []).bytes)
        add("changelog-envelope", "partition", PartitionMetadata(watermark: at.millisecondsSinceEpoch).bytes)
        add("changelog-envelope", "unframed", Array("{\"v\":0}".utf8))

        // Retry headers (NUL-separated; the first byte modulo 5 picks the name: 5 attempt, 1 due, 2 history).
        text("retry-headers", "first-retry", "\u{5}1\u{0}\u{1}1800000010000\u{0}\u{2}1 http_503 2026-11-20T10:00:01Z")
        text(
            "retry-headers", "third",
            "\u{5}3\u{0}\u{1}1800000600000\u{0}\u{2}1 timeout 2026-11-20T10:00:01Z; 2 http_500 2026-11-20T10:00:11Z")
        text(
            "retry-headers", "replayed",
            "\u{2}1 http_503 2026-11-20T10:00:01Z; replayed from alerts-dlt[0]@17\u{0}\u{3}1")

        // Feedback: links signed with the target's secret, records of their clicks.
        for (i, alert) in pickedAlerts.prefix(3).enumerated() {
            for (verdict, url) in FeedbackLinkFuzz.signer.links(for: alert) {
                add(
                    "feedback-link", "link-\(i)-\(verdict.rawValue)",
                    Array(url.split(separator: "?", maxSplits: 1)[1].utf8))
            }
            let link = FeedbackLink(
                alertId: alert.alertId, verdict: .useful, destination: alert.destination,
                rule: alert.rule ?? alert.type.rawValue, expiresAt: alert.raisedAt.adding(days: 30))
            add(
                "feedback-record", "record-\(i)",
                try RecordCoding.encode(link.record(at: alert.raisedAt.adding(seconds: 90))))
            text("feedback-link", "fields-\(i)", "\(alert.alertId)\u{0}\(alert.destination)\u{0}\(alert.rule ?? "r")")
        }

        // Timestamps as producers write them.
        for (i, t) in [
            "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.123+02:00", "2026-02-28 23:59:60z",
            "2000-01-01T00:00:00.1-23:59",
            "9999-12-31T23:59:59.999Z",
        ].enumerated() { text("timestamp", "t-\(i)", t) }

        // Configuration files.
        add("rules-file", "rules", Array(rulesYAML.utf8))
        add(
            "destinations-file", "destinations",
            Array(try String(contentsOfFile: "config/destinations.yaml", encoding: .utf8).utf8))

        add(
            "inputs-file", "inputs",
            Array(try String(contentsOfFile: "config/inputs/inputs.yaml", encoding: .utf8).utf8))
        // Input records: every shipped sample line of each format.
        let samples = "config/inputs/samples"
        for file in try FileManager.default.contentsOfDirectory(atPath: samples).sorted() {
            let lines = try String(contentsOfFile: samples + "/" + file, encoding: .utf8).split(separator: "\n")
            for (i, line) in lines.enumerated() {
                add("input-normaliser", "\(file.split(separator: ".").first ?? "x")-\(i)", Array(line.utf8))
            }
        }

        for (target, files) in seeds {
            let dir = root + "/" + target
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, bytes) in files {
                try Data(bytes).write(to: URL(fileURLWithPath: dir + "/seed-" + name))
            }
        }
        print("fleet-fuzz: wrote \(seeds.values.map(\.count).reduce(0, +)) seeds for \(seeds.count) targets in \(root)")
    }

    /// Up to `count` values, the first of each kind `kind` names, in order.
    static func pick<T>(_ values: [T], _ count: Int, kind: (T) -> String) -> [T] {
        var seen = Set<String>()
        return Array(values.filter { seen.insert(kind($0)).inserted }.prefix(count))
    }
}
