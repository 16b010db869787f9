import Contracts
import Foundation
import HealthModel
import Kafka
import SlackSink
import Testing

/// The fleet end to end, as it runs in production: a Kafka-protocol broker on 127.0.0.1, the
/// stage executables `ingest-scorer`, `evaluator` and `dispatcher` as separate processes, and a
/// Slack-like server with faults. Every wait is bounded and says what it waited for.
@Suite(.serialized) struct FleetProcessTests {
    /// Sample events through all three stages: each story reaches its channel, once.
    @Test func storiesLandInTheirChannelsOnce() async throws {
        let names = ["customer-health", "cs-escalations", "revenue-signals", "billing-alerts"]
        let fleet = try await FleetHarness(destinations: names)
        let stages = try ["ingest-scorer", "evaluator", "dispatcher"].map { try StageProcess($0, env: fleet.env()) }
        defer { for s in stages { s.stopWithoutWaiting() } }
        let generator = SampleGenerator(options: .init(seed: 7, accounts: 24, days: 40))
        let parser = EventParser()
        let producer = try fleet.producer()
        for day in 0..<40 {
            for line in generator.lines(forDay: day) {
                let key = (try? parser.parse(line).accountId) ?? "unkeyed"
                try producer.send(OutgoingRecord(topic: fleet.prefix + "account-events", key: key, value: line)) { _ in
                }
            }
        }
        try await producer.flush()
        await producer.shutdown()
        func has(_ d: [String: [String: Int]], _ channel: String, _ text: String) -> Bool {
            fleet.sink.requests(path: fleet.path(channel)).contains {
                String(decoding: $0.body, as: UTF8.self).contains(text)
            }
        }
        let arrived = await fleet.waitForDeliveries(timeout: .seconds(90), watching: stages) { d in
            has(d, "cs-escalations", "Account 0000") && has(d, "billing-alerts", "Account 0001")
                && has(d, "revenue-signals", "Account 0002")
        }
        let log = stages.map { "\($0.name):\n\($0.log.suffix(1500))" }.joined(separator: "\n")
        #expect(
            arrived,
            "the stories did not all reach their channels within 90 s; sink saw \(fleet.sink.requestCount) requests\n\(log)"
        )
        // Every alert the evaluator wrote reaches the sink; none twice.
        let total = try fleet.size("alerts", partitions: 12)
        let written = try await fleet.read("alerts", partitions: 12, timeout: .seconds(10)) { $0.count >= total }
        let expected = Set(
            written.compactMap { try? RecordCoding.decode(AlertRecord.self, from: $0.value ?? []) }
                // Edits of posted messages are not alerts: incoming webhooks skip them (issue 24).
                .filter { $0.update == nil }.map {
                    "\($0.destination) \($0.alertId)"
                })
        let all = await fleet.waitForDeliveries(timeout: .seconds(30)) { d in
            expected.allSatisfy { key in
                let p = key.split(separator: " ")
                return d[String(p[0])]?[String(p[1])] != nil
            }
        }
        #expect(
            all,
            "not every alert was delivered: \(expected.count) written, delivered \(fleet.delivered().mapValues(\.count))"
        )
        let twice = fleet.posted().filter { $0.value > 1 }
        #expect(twice.isEmpty, "posted more than once: \(twice)")
        await fleet.shutdown()
    }

    /// kill -9 of the dispatcher three times mid-burst, each time with a post Slack received but not
    /// yet answered: no alert lost; a webhook cannot be asked what it received, so an alert in
    /// doubt is posted again: duplicates never exceed the alerts logged in doubt (at-least-once).
    @Test func dispatcherKilledMidBurstLosesNothing() async throws {
        let names = ["d1", "d2", "d3", "d4"]
        let fleet = try await FleetHarness(destinations: names, rate: 10, burst: 2)
        let alerts = (0..<160).map { FleetHarness.alert($0, destination: names[$0 % 4], tag: "burst") }
        try await fleet.produce(alerts)
        // Every kill is made while Slack holds the answer to a post it received (the 9th, 18th and
        // 27th post to d1, whatever the machine's speed): each leaves an alert in doubt.
        let processes = try await fleet.killDispatcherWhileHolding(path: fleet.path(names[0]), kills: 3)
        let dispatcher = processes.last!
        let kills = processes.count - 1
        defer { dispatcher.stopWithoutWaiting() }
        let ids = Set(alerts.map { "\($0.destination) \($0.alertId)" })
        let complete = await fleet.waitForDeliveries(timeout: .seconds(90), watching: [dispatcher]) { d in
            ids.allSatisfy { key in
                let p = key.split(separator: " ")
                return d[String(p[0])]?[String(p[1])] != nil
            }
        }
        let delivered = fleet.delivered()
        let lost = ids.filter { key in
            let p = key.split(separator: " ")
            return delivered[String(p[0])]?[String(p[1])] == nil
        }
        #expect(
            complete && lost.isEmpty,
            "\(lost.count) alerts lost after \(kills) kills: \(lost.sorted().prefix(10))\n\(dispatcher.log.suffix(2000))"
        )
        let duplicates = fleet.posted().values.reduce(0) { $0 + max(0, $1 - 1) }
        // At most the posts in flight at each kill (2 per destination with burst 2).
        #expect(duplicates <= kills * names.count * 2, "\(duplicates) duplicate posts after \(kills) kills")
        // Every repeated post was an alert in doubt (an intent without a delivery), logged as such.
        let inDoubt = processes.reduce(0) {
            $0 + $1.log.components(separatedBy: "delivery in doubt: posting again").count - 1
        }
        #expect(duplicates <= inDoubt, "\(duplicates) duplicate posts but only \(inDoubt) alerts logged in doubt")
        #expect(inDoubt >= kills, "\(inDoubt) alerts in doubt after \(kills) kills, each with a post held in flight")
        print(
            "dispatcher kill -9 x\(kills): \(ids.count) alerts, 0 lost, \(duplicates) duplicate posts, \(inDoubt) alerts in doubt posted again (webhooks: at-least-once)"
        )
    }

    /// The same kills with Slack app destinations, each with a message in the channel whose answer
    /// is held: an alert in doubt after a kill is looked up in its channel (`conversations.history`,
    /// by the alert ids in the message metadata) before it is posted again, so nothing is lost and
    /// nothing is posted twice (exactly once), and each held message is found.
    @Test func dispatcherKilledMidBurstPostsEachAlertOnceToASlackApp() async throws {
        let names = ["d1", "d2", "d3", "d4"]
        let fleet = try await FleetHarness(destinations: names, rate: 10, burst: 2, slackApp: true)
        fleet.sink.expectBotToken(FleetHarness.botToken)
        let alerts = (0..<160).map { FleetHarness.alert($0, destination: names[$0 % 4], tag: "app-burst") }
        try await fleet.produce(alerts)
        // Every kill is made while Slack holds the answer to a message it stored (the 9th, 18th
        // and 27th `chat.postMessage`, whatever the machine's speed): each leaves an alert in doubt.
        let processes = try await fleet.killDispatcherWhileHolding(path: "/api/chat.postMessage", kills: 3)
        let dispatcher = processes.last!
        let kills = processes.count - 1
        defer { dispatcher.stopWithoutWaiting() }
        let wanted = Set(alerts.map { "\(FleetHarness.channel($0.destination)) \($0.alertId)" })
        func missing(_ posted: [String: [String: Int]]) -> [String] {
            wanted.filter { key in
                let p = key.split(separator: " ")
                return posted[String(p[0])]?[String(p[1])] == nil
            }.sorted()
        }
        let complete = await fleet.waitUntil(timeout: .seconds(90), watching: [dispatcher]) {
            missing(fleet.postedToChannels()).isEmpty
        }
        let posted = fleet.postedToChannels()
        let lost = missing(posted)
        #expect(
            complete && lost.isEmpty,
            "\(lost.count) alerts lost after \(kills) kills: \(lost.prefix(10))\n\(dispatcher.log.suffix(2000))")
        let twice = posted.flatMap { channel, counts in
            counts.filter { $0.value > 1 }.map { "\(channel) \($0.key) x\($0.value)" }
        }.sorted()
        #expect(twice.isEmpty, "posted more than once to a Slack app channel: \(twice)")
        let logs = processes.map(\.log)
        let reconciled = logs.reduce(0) {
            $0 + $1.components(separatedBy: "found in the channel, logged without posting again").count - 1
        }
        let reposted = logs.reduce(0) {
            $0 + $1.components(separatedBy: "delivery in doubt: not in the channel, posting").count - 1
        }
        let lookups = fleet.sink.requests().filter { $0.path.hasSuffix("/conversations.history") }.count
        #expect(
            reconciled >= kills,
            "\(reconciled) alerts found in the channel after \(kills) kills, each with a message held in flight")
        #expect(!logs.contains { $0.contains(FleetHarness.botToken) }, "the bot token reached a log")
        #expect(
            fleet.sink.requests().allSatisfy {
                $0.response != .apiError("invalid_auth") && $0.response != .apiError("not_authed")
            })
        print(
            "dispatcher kill -9 x\(kills) (Slack app): \(wanted.count) alerts, \(lost.count) lost, \(twice.count) duplicate posts, "
                + "\(reconciled) in doubt found in the channel (logged, not posted), \(reposted) in doubt not found (posted), \(lookups) history requests"
        )
        await fleet.shutdown()
    }

    /// A 410 goes to alerts-dlt with its reason; a 5xx burst on one destination is retried through
    /// the retry topics while the other destinations flow.
    @Test func archivedChannelAndServerErrorsStayWithTheirDestination() async throws {
        let names = ["archived", "flaky", "calm1", "calm2"]
        let fleet = try await FleetHarness(destinations: names)
        fleet.sink.setDefault(.channelIsArchived, path: fleet.path("archived"))
        fleet.sink.script(path: fleet.path("flaky"), Array(repeating: .serverError, count: 6))
        let dispatcher = try StageProcess("dispatcher", env: fleet.dispatcherEnv(["RETRY_DELAYS_MS": "500,1000,2000"]))
        defer { dispatcher.stopWithoutWaiting() }
        let flaky = (0..<4).map { FleetHarness.alert($0, destination: "flaky", tag: "flaky") }
        let archived = (0..<3).map { FleetHarness.alert($0, destination: "archived", tag: "archived") }
        let calm = (0..<20).map { FleetHarness.alert($0, destination: $0 % 2 == 0 ? "calm1" : "calm2", tag: "calm") }
        try await fleet.produce(flaky + archived + calm)

        // The calm destinations are all delivered while flaky still fails.
        let calmDone = await fleet.waitForDeliveries(timeout: .seconds(30), watching: [dispatcher]) { d in
            (d["calm1"]?.count ?? 0) + (d["calm2"]?.count ?? 0) == 20
        }
        #expect(calmDone, "calm destinations: \(fleet.delivered().mapValues(\.count))\n\(dispatcher.log.suffix(2000))")
        // Flaky recovers through the retry topics, each alert once.
        let flakyDone = await fleet.waitForDeliveries(timeout: .seconds(40), watching: [dispatcher]) { d in
            d["flaky"]?.count == 4
        }
        #expect(flakyDone, "flaky: \(fleet.delivered()["flaky"] ?? [:])\n\(dispatcher.log.suffix(2000))")
        #expect(fleet.delivered()["flaky"]?.values.allSatisfy { $0 == 1 } == true)
        let retries = try await fleet.read("alerts-retry-1", partitions: 12, timeout: .seconds(10)) { $0.count >= 1 }
        #expect(retries.first?.headers.last(named: "fleet.retry.attempt")?.text == "1")
        #expect(retries.first?.headers.last(named: "fleet.retry.history")?.text?.contains("http_500") == true)

        // 410: dead-lettered with its reason, not retried.
        let letters = try await fleet.read("alerts-dlt", partitions: 3, timeout: .seconds(20)) { $0.count >= 3 }
        #expect(letters.count == 3, "alerts-dlt holds \(letters.count) records")
        for letter in letters {
            #expect(letter.headers.last(named: "dlt.code")?.text == "channel_is_archived")
            #expect(letter.headers.last(named: "dlt.reason")?.text?.contains("410") == true)
            #expect(letter.keyString == "archived")
        }
        #expect(fleet.sink.requests(path: fleet.path("archived")).count == 3, "a 410 is not retried")
        // No URL in the dispatcher's log.
        #expect(!dispatcher.log.contains("127.0.0.1:\(fleet.port)"), "a webhook URL reached the log")
        await fleet.shutdown()
    }
}
