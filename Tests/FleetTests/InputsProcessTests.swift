import Contracts
import Foundation
import HealthModel
import Kafka
import Testing

/// Input topics of other formats through the running stages (`INPUTS_FILE`, docs/inputs.md): the
/// ingest-scorer normalises each record, re-publishes it onto `account-events` keyed by account,
/// and scores it there; the evaluator raises the alerts the native events of the same story raise.
@Suite(.serialized) struct InputsProcessTests {
    static let shippedInputs = FleetHarness.root.appendingPathComponent("config/inputs/inputs.yaml")
    static let samples = FleetHarness.root.appendingPathComponent("config/inputs/samples")

    /// The input topics of `yaml` created with two partitions each (unprefixed: they belong to their producers).
    static func createInputTopics(_ fleet: FleetHarness, yaml: String) throws {
        for line in yaml.split(separator: "\n") where line.hasPrefix("  - topic: ") {
            try fleet.cluster.createTopic(String(line.dropFirst("  - topic: ".count)), partitions: 2)
        }
    }

    static func sample(_ name: String) throws -> [[UInt8]] {
        try String(contentsOf: samples.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map {
            Array($0.utf8)
        }
    }

    /// A Debezium insert of ticket 4211 of account acme, keyed by the ticket id as Debezium keys it,
    /// on each of the input topic's two partitions: its event lands in acme's state, on acme's
    /// partition of account-events, and nowhere else (counted once: the same event id).
    @Test func debeziumTicketKeyedByTicketIdLandsInItsAccountsState() async throws {
        let fleet = try await FleetHarness(destinations: ["customer-health"])
        let yaml = try String(contentsOf: Self.shippedInputs, encoding: .utf8)
        try Self.createInputTopics(fleet, yaml: yaml)
        let scorer = try StageProcess("ingest-scorer", env: fleet.env(["INPUTS_FILE": Self.shippedInputs.path]))
        defer { scorer.stopWithoutWaiting() }
        #expect(
            await scorer.waitForLog(timeout: .seconds(60)) { $0.contains("supportdb.public.tickets") },
            "the scorer did not start with its inputs:\n\(scorer.log.suffix(2000))")

        // The same change on both input partitions (a redelivery on another partition, as after a
        // repartitioning of the source): at least one of them is not acme's partition of account-events.
        let producer = try fleet.producer()
        let insert = try #require(try Self.sample("supportdb.public.tickets.jsonl").first)
        let ticketKey = Array(#"{"id":4211}"#.utf8)
        for partition: Int32 in [0, 1] {
            _ = try await producer.send(
                OutgoingRecord(topic: "supportdb.public.tickets", partition: partition, key: ticketKey, value: insert))
        }
        await producer.shutdown()

        let read = try await fleet.read("account-events", partitions: 12, timeout: .seconds(60)) { records in
            records.filter { $0.key == Array("acme".utf8) }.count >= 2
        }
        let copies = read.filter { $0.key == Array("acme".utf8) }
        #expect(copies.count == 2, "expected 2 copies keyed acme on account-events:\n\(scorer.log.suffix(2000))")
        let copy = try #require(copies.first)
        #expect(
            Set(copies.compactMap { $0.headers.last(named: "fleet.input.from")?.text })
                == ["supportdb.public.tickets[0]@0", "supportdb.public.tickets[1]@0"])
        #expect(Set(copies.map(\.partition)).count == 1, "the copies of one account's events on two partitions")
        let event = try EventParser().parse(try #require(copy.value))
        #expect(event.type == .ticketOpened)
        #expect(event.eventId == "tickets-4211-opened")

        // The account's state: keyed acme, on the copy's partition only (not the input's).
        let states = try await fleet.read("ingest-scorer-state", partitions: 12, timeout: .seconds(60)) { records in
            records.contains { $0.key == Array("acme".utf8) }
        }
        let partitions = Set(states.filter { $0.key == Array("acme".utf8) }.map(\.partition))
        #expect(
            partitions == [copy.partition], "acme's state on partitions \(partitions), its events on \(copy.partition)")
        #expect(!scorer.log.contains("\"level\":\"error\""), "\(scorer.log.suffix(2000))")
    }

    /// The shipped Debezium samples of both tables through the scorer and the evaluator, as
    /// processes: umbrella's subscription row set to cancel at the period's end raises its at-risk
    /// alert, as the native `subscription_cancelled` event does, and acme's ticket rows are scored.
    @Test func debeziumTicketAndSubscriptionRowsRaiseTheCancellationAlert() async throws {
        let fleet = try await FleetHarness(destinations: [
            "customer-health", "cs-escalations", "revenue-signals", "billing-alerts",
        ])
        let yaml = try String(contentsOf: Self.shippedInputs, encoding: .utf8)
        try Self.createInputTopics(fleet, yaml: yaml)
        let stages = try ["ingest-scorer", "evaluator"].map {
            try StageProcess($0, env: fleet.env(["INPUTS_FILE": Self.shippedInputs.path]))
        }
        defer { for s in stages { s.stopWithoutWaiting() } }

        let producer = try fleet.producer()
        let tables = [
            ("supportdb.public.tickets", "supportdb.public.tickets.jsonl"),
            ("billingdb.public.subscriptions", "billingdb.public.subscriptions.jsonl"),
        ]
        for (topic, file) in tables {
            // Keyed by the row's primary key, as Debezium keys them.
            for line in try Self.sample(file) {
                let row = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                let payload = (row?["payload"] as? [String: Any]) ?? row
                let id = ((payload?["after"] ?? payload?["before"]) as? [String: Any])?["id"]
                let key = id.map { Array("{\"id\":\($0)}".utf8) }
                try producer.send(OutgoingRecord(topic: topic, key: key, value: line)) { _ in }
            }
        }
        try await producer.flush()
        await producer.shutdown()

        var seen: Set<String> = []
        let alerts = try await fleet.read("alerts", partitions: 12, timeout: .seconds(120)) { records in
            seen = Set(
                records.compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }.map {
                    "\($0.accountId) \($0.type.rawValue)"
                })
            return seen.contains("umbrella customer_at_risk")
        }
        let log = stages.map { "\($0.name):\n\($0.log.suffix(1500))" }.joined(separator: "\n")
        #expect(
            seen.contains("umbrella customer_at_risk"),
            "no at-risk alert for umbrella among \(alerts.count) alerts \(seen.sorted())\n\(log)")
        let scores = try await fleet.read("health-scores", partitions: 12, timeout: .seconds(60)) { records in
            records.contains { $0.key == Array("acme".utf8) }
        }
        #expect(scores.contains { $0.key == Array("acme".utf8) }, "acme's ticket rows were not scored\n\(log)")
        #expect(!stages[0].log.contains("\"level\":\"error\""), "\(stages[0].log.suffix(2000))")
    }

    /// The sample's stories as Segment calls (every event a track call named by its type, profiles
    /// as group calls) and the shipped Stripe sample: the evaluator raises the stories' alerts, as
    /// for the native events (FleetProcessTests), and the Stripe retry's billing alert.
    @Test func segmentAndStripeStreamsRaiseTheStoriesAlerts() async throws {
        let fleet = try await FleetHarness(destinations: [
            "customer-health", "cs-escalations", "revenue-signals", "billing-alerts",
        ])
        let yaml = try String(contentsOf: Self.shippedInputs, encoding: .utf8) + Self.storySegmentInput
        let inputs = fleet.directory.appendingPathComponent("inputs.yaml")
        try yaml.write(to: inputs, atomically: true, encoding: .utf8)
        try Self.createInputTopics(fleet, yaml: yaml)
        let stages = try ["ingest-scorer", "evaluator"].map {
            try StageProcess($0, env: fleet.env(["INPUTS_FILE": inputs.path]))
        }
        defer { for s in stages { s.stopWithoutWaiting() } }

        let producer = try fleet.producer()
        let generator = SampleGenerator(options: .init(seed: 7, accounts: 6, days: 40))
        // Keyed by the account (the group), as a relay keyed by groupId writes: 40 days sent in one
        // burst across unkeyed partitions would reach the scorer reordered by days, far past the
        // lateness it allows, where a live source is seconds apart.
        for line in generator.allLines() {
            let call = try #require(Self.segmentCall(line), "a sample line is not an event")
            let event = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let account = try #require(event["account_id"] as? String)
            try producer.send(OutgoingRecord(topic: "story-segment", key: account, value: call)) { _ in }
        }
        for line in try Self.sample("stripe-events.jsonl") {
            try producer.send(OutgoingRecord(topic: "stripe-events", key: nil, value: line)) { _ in }
        }
        try await producer.flush()
        await producer.shutdown()

        let expected: Set<String> = [
            "acct-0000 customer_at_risk", "acct-0001 billing_retry_failed", "acct-0002 upsell_opportunity",
            "globex billing_retry_failed",
        ]
        var seen: Set<String> = []
        let alerts = try await fleet.read("alerts", partitions: 12, timeout: .seconds(120)) { records in
            seen = Set(
                records.compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }.map {
                    "\($0.accountId) \($0.type.rawValue)"
                })
            return expected.isSubset(of: seen)
        }
        let log = stages.map { "\($0.name):\n\($0.log.suffix(1500))" }.joined(separator: "\n")
        #expect(
            expected.isSubset(of: seen),
            "missing \(expected.subtracting(seen)) among \(alerts.count) alerts \(seen.sorted())\n\(log)")
    }

    /// A Segment input whose track event names are the native type names, each property copied.
    static let storySegmentInput: String = {
        let properties = [
            "feature", "minutes", "count", "errors", "score", "ticket_id", "priority", "sentiment", "amount",
            "currency", "payment_id", "invoice_id", "seats", "status", "cancellation_scheduled",
        ]
        let traits = [
            "name", "tier", "mrr", "owner", "renewal_date", "timezone", "url", "status",
            "cancellation_scheduled",
        ]
        var text = "  - topic: story-segment\n    format: segment\n    unmatched: dead_letter\n    events:\n"
        for type in EventType.allCases where type != .other && type != .accountUpdated {
            text += "      \(type.name):\n        type: \(type.name)\n        properties:\n"
            for p in properties { text += "          \(p): properties.\(p)\n" }
        }
        text += "    group:\n      type: account_updated\n      properties:\n"
        for p in traits { text += "        \(p): traits.\(p)\n" }
        return text
    }()

    /// The Segment call of a native event: `track` named by its type (`group` for a profile), the
    /// event id as messageId, the account as context.groupId (group: groupId).
    static func segmentCall(_ line: [UInt8]) -> [UInt8]? {
        guard var event = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
            let type = event["type"] as? String, let account = event["account_id"] as? String
        else { return nil }
        var call: [String: Any] = [
            "messageId": event["event_id"] ?? "", "timestamp": event["occurred_at"] ?? "",
            "context": ["groupId": account, "library": ["name": "analytics-node", "version": "6.2.0"]],
        ]
        if let user = event["user_id"] { call["userId"] = user }
        event["properties"] = event["properties"] ?? [String: Any]()
        if type == "account_updated" {
            call["type"] = "group"
            call["groupId"] = account
            call["traits"] = event["properties"]
        } else {
            call["type"] = "track"
            call["event"] = type
            call["properties"] = event["properties"]
        }
        return (try? JSONSerialization.data(withJSONObject: call)).map { Array($0) }
    }
}
