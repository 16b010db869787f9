import Contracts
import Foundation
import Kafka
import SlackSink
import Testing
import WorkerRuntime

/// Issue 22's table, fed to the three stages running as processes: every hostile record is
/// refused into its dead-letter topic with its reason or handled by its documented rule, no
/// process dies, and an ordinary alert produced after all of them is still posted (the partitions
/// flow). Each row names the defect it guards.
@Suite(.serialized) struct HostileRecordsTests {
    static let hour: Int64 = 3_600_000

    /// An event line of the account-events contract.
    static func event(_ id: String, account: String, type: String, at ms: Int64, properties: String = "{}") -> [UInt8] {
        let at = Timestamp(millisecondsSinceEpoch: ms).rfc3339
        return Array(
            """
            {"event_id":"\(id)","account_id":"\(account)","type":"\(type)","occurred_at":"\(at)","properties":\(properties)}
            """.utf8)
    }

    static func profile(_ account: String, name: String, mrr: String, at ms: Int64) -> [UInt8] {
        event(
            "p-\(account)", account: account, type: "account_updated", at: ms,
            properties: #"{"name":"\#(name)","tier":"enterprise","mrr":\#(mrr),"owner":"U0001","timezone":"UTC"}"#)
    }

    static func retryFailed(_ id: String, account: String, invoice: String, amount: String, at ms: Int64) -> [UInt8] {
        event(
            id, account: account, type: "billing_retry_failed", at: ms,
            properties:
                #"{"payment_id":"P-\#(invoice)","invoice_id":"\#(invoice)","amount":\#(amount),"currency":"USD"}"#)
    }

    @Test func everyHostileRowLeavesTheFleetRunningAndItsPartitionsFlowing() async throws {
        let names = ["customer-health", "cs-escalations", "revenue-signals", "billing-alerts"]
        let fleet = try await FleetHarness(destinations: names)
        defer { Task { await fleet.shutdown() } }
        let producer = try fleet.producer()
        let p = fleet.prefix

        // Row 9: changelog values no owner wrote: an epoch of Int64.max and bytes that are no frame.
        let forged = ChangelogEnvelope(epoch: Int64.max, payload: [0xFF, 0xFF, 0xFF, 0xFF]).bytes
        for topic in ["ingest-scorer-state", "evaluator-state", "dispatcher-state"] {
            for partition in Int32(0)..<12 {
                _ = try await producer.send(
                    OutgoingRecord(topic: p + topic, partition: partition, key: "forged-\(partition)", value: forged))
                _ = try await producer.send(
                    OutgoingRecord(
                        topic: p + topic, partition: partition, key: "junk-\(partition)", value: [0xF1, 0xEE, 0x7F]))
            }
        }

        let env = fleet.env(["RETRY_DELAYS_MS": "500,1000,2000"])
        let stages = try ["ingest-scorer", "evaluator", "dispatcher"].map { try StageProcess($0, env: env) }
        defer { for s in stages { s.stopWithoutWaiting() } }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let t0 = now - 2 * Self.hour
        var sends: [(key: String?, value: [UInt8])] = [
            // Row 1: an MRR and an amount no Int64 of cents holds.
            ("hostile-mrr", Self.profile("hostile-mrr", name: "Hostile MRR Corp", mrr: "1e17", at: t0)),
            (
                "hostile-mrr",
                Self.retryFailed("e-h1", account: "hostile-mrr", invoice: "inv-h1", amount: "1e17", at: t0 + 1000)
            ),
            // Row 2: two invoices' retries failing in the same second.
            ("twin", Self.profile("twin", name: "Twin Invoices Ltd", mrr: "4200", at: t0)),
            ("twin", Self.retryFailed("e-t77", account: "twin", invoice: "inv-77", amount: "4200", at: t0 + 5000)),
            ("twin", Self.retryFailed("e-t78", account: "twin", invoice: "inv-78", amount: "300", at: t0 + 5000)),
            // Row 3: keyed by a ticket id, and unkeyed.
            (
                "ticket-991",
                Self.retryFailed("e-r1", account: "rekeyed", invoice: "inv-r1", amount: "100", at: t0 + 6000)
            ),
            (nil, Self.retryFailed("e-r2", account: "rekeyed", invoice: "inv-r2", amount: "100", at: t0 + 7000)),
            // Bad input: not JSON; dated 2029 (never moves time).
            ("junk", Array("{not json".utf8)),
            (
                "future",
                Self.retryFailed("e-f1", account: "future", invoice: "inv-f1", amount: "1", at: 1_861_920_000_000)
            ),
        ]
        // The ordinary alert after every hostile record.
        sends.append(
            ("ordinary", Self.retryFailed("e-o1", account: "ordinary", invoice: "inv-o1", amount: "50", at: t0 + 9000)))
        for s in sends {
            _ = try await producer.send(
                OutgoingRecord(topic: p + "account-events", key: s.key.map { Array($0.utf8) }, value: s.value))
        }

        // Rows 6 and 8: retry headers no dispatcher wrote.
        func retry(_ n: Int, topic: String, headers: [(String, String)]) async throws {
            let alert = FleetHarness.alert(n, destination: "cs-escalations", tag: "hostile-retry")
            _ = try await producer.send(
                OutgoingRecord(
                    topic: p + topic, key: Array(alert.destination.utf8), value: try RecordCoding.encode(alert),
                    headers: headers.map { KafkaHeader(name: $0.0, text: $0.1) }))
        }
        try await retry(
            1, topic: "alerts-retry-1", headers: [("fleet.retry.attempt", "1"), ("fleet.retry.due", "\(Int64.max)")])
        try await retry(
            2, topic: "alerts-retry-2", headers: [("fleet.retry.attempt", "\(Int64.max)"), ("fleet.retry.due", "0")])
        try await retry(3, topic: "alerts-retry-2", headers: [("fleet.retry.attempt", "-5"), ("fleet.retry.due", "0")])
        await producer.shutdown()

        func bodies(_ destination: String) -> [String] {
            fleet.sink.requests(path: fleet.path(destination)).filter { $0.response == .ok }
                .map { String(decoding: $0.body, as: UTF8.self) }
        }
        let retried = (1...3).map {
            FleetHarness.alert($0, destination: "cs-escalations", tag: "hostile-retry").alertId
        }
        let flowed = await fleet.waitUntil(timeout: .seconds(120), watching: stages) {
            let billing = bodies("billing-alerts").joined()
            let escalations = fleet.delivered()["cs-escalations"] ?? [:]
            return billing.contains("ordinary") && billing.contains("Hostile MRR Corp")
                && retried.allSatisfy { escalations[$0] != nil }
        }
        let logs = stages.map { "\($0.name):\n\($0.log.suffix(1500))" }.joined(separator: "\n")
        #expect(
            flowed, "the ordinary alert, the 1e17 account's alert and the forged retries were not all posted\n\(logs)")
        for s in stages { #expect(s.process.isRunning, "\(s.name) died:\n\(s.log.suffix(3000))") }

        // Row 2: both invoices raised an alert.
        func billing(_ records: [AlertRecord], _ account: String) -> Set<String> {
            Set(records.filter { $0.accountId == account && $0.destination == "billing-alerts" }.map(\.alertId))
        }
        let alerts = try await fleet.read("alerts", partitions: 12, timeout: .seconds(30)) { records in
            let decoded = records.compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }
            return billing(decoded, "twin").count >= 2 && billing(decoded, "rekeyed").count >= 2
        }.compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }
        let twins = billing(alerts, "twin")
        #expect(twins.count == 2, "inv-77 and inv-78 failing in the same second raised \(twins.count) billing alert(s)")

        // Row 3: the re-keyed events were scored on their account's partition only.
        let scores = try await fleet.read("health-scores", partitions: 12, timeout: .seconds(20)) { records in
            records.filter { $0.keyString == "rekeyed" }.count >= 2
        }
        let rekeyed = scores.filter { $0.keyString == "rekeyed" }
        #expect(
            Set(rekeyed.map(\.partition)).count == 1,
            "account rekeyed scored on partitions \(Set(rekeyed.map(\.partition)))")
        #expect(
            billing(alerts, "rekeyed").count == 2, "rekeyed raised \(billing(alerts, "rekeyed").count) billing alerts")

        // Bad input in the scorer's dead-letter topic with its reason.
        func codes(_ records: [ConsumedRecord]) -> Set<String> {
            Set(records.compactMap { $0.headers.last(named: "dlt.code")?.text })
        }
        let dead = try await fleet.read("account-events-dlt", partitions: 3, timeout: .seconds(30)) {
            codes($0).isSuperset(of: ["future_event_time", "invalid_json"])
        }
        #expect(codes(dead).isSuperset(of: ["future_event_time", "invalid_json"]), "dead-letter codes: \(codes(dead))")
        // Row 9: the forged changelog values were left out of the state (the junk frames quarantined
        // into the dead-letter topic with their reason), and the scorer restored and ran on.
        #expect(codes(dead).contains("state_quarantined"), "dead-letter codes: \(codes(dead))")
    }
}
