import Contracts
import Foundation
import Kafka
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The feedback loop on the `dispatcher` executable: an alert delivered with its signed buttons,
/// a click on "Useful" served by the dispatcher's feedback listener (a port of its own, apart from
/// the probes and metrics): the GET shows the confirmation page, its POST records one record in
/// `alert-feedback`.
@Suite(.serialized) struct FeedbackProcessTests {
    static let secret = "process-test-feedback-secret-0123456789"
    /// The public base the links are signed under; the test reaches the same path on 127.0.0.1.
    static let publicBase = "http://feedback.invalid/feedback"
    /// Feedback on, on a free port of its own.
    static let feedbackEnv = [
        "FEEDBACK_BASE_URL": publicBase, "FEEDBACK_SECRET": secret, "FEEDBACK_LINK_TTL": "1h", "FEEDBACK_PORT": "0",
    ]

    @Test func aClickIsRecordedOnceAndItsReplayRefused() async throws {
        let fleet = try await FleetHarness(destinations: ["fb"])
        let dispatcher = try StageProcess("dispatcher", env: fleet.dispatcherEnv(Self.feedbackEnv))
        defer { dispatcher.stopWithoutWaiting() }
        let port = try #require(
            await dispatcher.httpPort(timeout: .seconds(30)), "no http port logged:\n\(dispatcher.log.suffix(2000))")
        let feedbackPort = try #require(
            await Self.feedbackPort(dispatcher), "no feedback port logged:\n\(dispatcher.log.suffix(2000))")
        #expect(feedbackPort != port)
        #expect(!dispatcher.log.contains(Self.secret), "the secret appeared in the log")

        // An alert raised now, so its links are alive for the hour.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let alert = AlertRecord(
            alertId: "fbfbfbfb00000001", type: .customerAtRisk, severity: .high, priority: Priority(level: 3)!,
            destination: "fb", accountId: "acct-fb", raisedAt: Timestamp(millisecondsSinceEpoch: now))
        try await fleet.produce([alert])
        let delivered = await fleet.waitForDeliveries(timeout: .seconds(60), watching: [dispatcher]) {
            $0["fb"]?[alert.alertId] != nil
        }
        #expect(delivered, "the alert was not delivered:\n\(dispatcher.log.suffix(2000))")
        let body = try #require(fleet.sink.requests(path: fleet.path("fb")).first?.body)
        let useful = try #require(
            Self.urls(in: body).first { $0.contains("v=useful") },
            "no Useful button in \(String(decoding: body, as: UTF8.self))")
        #expect(useful.hasPrefix(Self.publicBase + "?"))
        let query = useful.dropFirst(Self.publicBase.count)
        let local = "http://127.0.0.1:\(feedbackPort)/feedback" + query
        // The health port serves no feedback, the feedback port no metrics.
        #expect(try await Self.get("http://127.0.0.1:\(port)/feedback" + query).status == 404)
        #expect(try await Self.get("http://127.0.0.1:\(feedbackPort)/metrics").status == 404)

        // The GET (what a link unfurler or a mail scanner does too) records nothing: it shows the
        // page whose button posts the signed fields.
        let page = try await Self.get(local)
        #expect(page.status == 200 && page.body.contains("<form method=\"post\""), "GET: \(page.status) \(page.body)")
        let again = try await Self.get(local)
        #expect(again.status == 200)
        let form = Self.formBody(of: page.body)
        #expect(form.contains("sig="), "no signed fields in the page: \(page.body)")
        let first = try await Self.post("http://127.0.0.1:\(feedbackPort)/feedback", body: form)
        #expect(first.status == 200, "first click: \(first.status) \(first.body)")
        let records = try await fleet.read("alert-feedback", partitions: 3, timeout: .seconds(10)) { $0.count >= 1 }
        #expect(records.count == 1)
        let record = try RecordCoding.decode(FeedbackRecord.self, from: records.first?.value ?? [])
        #expect(record.alertId == alert.alertId && record.destination == "fb" && record.verdict == .useful)
        #expect(records.first?.key.map { String(decoding: $0, as: UTF8.self) } == alert.alertId)

        // The same form again: refused, and still one record (the 200 came after the broker's
        // ack); the GET now says it was recorded.
        let second = try await Self.post("http://127.0.0.1:\(feedbackPort)/feedback", body: form)
        #expect(second.status == 409, "replay: \(second.status) \(second.body)")
        #expect(try await Self.get(local).status == 409)
        // A forged one: refused too.
        let forged = try await Self.post(local.replacingOccurrences(of: "v=useful", with: "v=not_useful"), body: "")
        #expect(forged.status == 403)
        #expect(try fleet.size("alert-feedback", partitions: 3) == 1)
        // Health and metrics stay where they were, and metrics never show the secret.
        let metrics = try await Self.get("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.status == 200 && metrics.body.contains("fleet_feedback_requests_total"))
        #expect(!metrics.body.contains(Self.secret))
        #expect(await dispatcher.stop() == 0)
        #expect(!dispatcher.log.contains(Self.secret), "the secret appeared in the log")

        // The precision report reads the same topics from the cluster: one alert sent, marked useful.
        let report = try await Self.run(
            "fleet-admin", ["report", "precision", "--from-kafka", "--since", "1d"],
            env: ["KAFKA_BROKERS": fleet.cluster.bootstrapServers, "TOPIC_PREFIX": fleet.prefix])
        #expect(report.status == 0, "report: \(report.output)")
        let row = report.output.split(separator: "\n").first { $0.hasPrefix("customer_at_risk") }
        #expect(
            row.map { Array($0.split(separator: " ").prefix(6)) } == ["customer_at_risk", "1", "1", "0", "0", "100%"],
            "report:\n\(report.output)")
        await fleet.shutdown()
    }

    /// The replay guard holds across replicas and restarts: a link clicked on one dispatcher is
    /// refused by a second dispatcher process, and by the first one restarted, with exactly one
    /// record on `alert-feedback` (each replica reads the topic back before it accepts a click).
    @Test func aLinkUsedOnOneReplicaIsRefusedOnAnotherAndAfterARestart() async throws {
        let fleet = try await FleetHarness(destinations: ["fb"])
        let env = fleet.dispatcherEnv(Self.feedbackEnv)
        let first = try StageProcess("dispatcher", env: env)
        defer { first.stopWithoutWaiting() }
        let firstPort = try #require(
            await Self.feedbackPort(first), "no feedback port logged:\n\(first.log.suffix(2000))")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let alert = AlertRecord(
            alertId: "fbfbfbfb00000002", type: .customerAtRisk, severity: .high, priority: Priority(level: 3)!,
            destination: "fb", accountId: "acct-fb", raisedAt: Timestamp(millisecondsSinceEpoch: now))
        try await fleet.produce([alert])
        let delivered = await fleet.waitForDeliveries(timeout: .seconds(60), watching: [first]) {
            $0["fb"]?[alert.alertId] != nil
        }
        #expect(delivered, "the alert was not delivered:\n\(first.log.suffix(2000))")
        let body = try #require(fleet.sink.requests(path: fleet.path("fb")).first?.body)
        let useful = try #require(Self.urls(in: body).first { $0.contains("v=useful") })
        let path = "/feedback" + useful.dropFirst(Self.publicBase.count)

        let click = try await Self.click(port: firstPort, path)
        #expect(click.status == 200, "first click: \(click.status) \(click.body)")

        // A second replica, started after the click: it has never seen the link itself.
        let second = try StageProcess("dispatcher", env: env)
        defer { second.stopWithoutWaiting() }
        let secondPort = try #require(
            await Self.feedbackPort(second), "no feedback port logged:\n\(second.log.suffix(2000))")
        let onSecond = try await Self.click(port: secondPort, path)
        #expect(
            onSecond.status == 409,
            "replay on another replica: \(onSecond.status) \(onSecond.body)\n\(second.log.suffix(2000))")

        // The first replica restarted: its memory is gone, the topic's is not.
        #expect(await first.stop() == 0)
        let restarted = try StageProcess("dispatcher", env: env)
        defer { restarted.stopWithoutWaiting() }
        let restartedPort = try #require(
            await Self.feedbackPort(restarted), "no feedback port logged:\n\(restarted.log.suffix(2000))")
        let afterRestart = try await Self.click(port: restartedPort, path)
        #expect(
            afterRestart.status == 409,
            "replay after a restart: \(afterRestart.status) \(afterRestart.body)\n\(restarted.log.suffix(2000))")

        #expect(try fleet.size("alert-feedback", partitions: 3) == 1)
        let records = try await fleet.read("alert-feedback", partitions: 3, timeout: .seconds(10)) { $0.count >= 1 }
        let record = try RecordCoding.decode(FeedbackRecord.self, from: records.first?.value ?? [])
        #expect(
            record.alertId == alert.alertId && record.verdict == .useful && record.linkId != nil
                && record.linkExpiresAt != nil)
        #expect(await second.stop() == 0)
        #expect(await restarted.stop() == 0)
        for process in [first, second, restarted] {
            #expect(!process.log.contains(Self.secret), "the secret appeared in the log")
        }
        await fleet.shutdown()
    }

    /// A click (the POST of the link's fields), again while the replica answers 503 "try again"
    /// (its ledger still loading): what a person does; each attempt waits at most the ledger's
    /// bounded catch-up.
    static func click(port: Int, _ path: String, attempts: Int = 10) async throws -> (status: Int, body: String) {
        var response = try await post("http://127.0.0.1:\(port)\(path)", body: "")
        var left = attempts - 1
        while response.status == 503, left > 0 {
            left -= 1
            response = try await post("http://127.0.0.1:\(port)\(path)", body: "")
        }
        return response
    }

    /// The feedback listener's port, from its "feedback listening" log line.
    static func feedbackPort(_ process: StageProcess) async -> Int? {
        let pattern = #""feedback_port":"(\d+)""#
        guard
            await process.waitForLog(
                timeout: .seconds(30), { $0.range(of: pattern, options: .regularExpression) != nil })
        else { return nil }
        let log = process.log
        return log.range(of: pattern, options: .regularExpression).flatMap { Int(log[$0].dropFirst(17).dropLast(1)) }
    }

    /// The confirmation page's hidden fields as the form body a browser sends.
    static func formBody(of page: String) -> String {
        let pattern = #"<input type="hidden" name="([a-z]+)" value="([^"]*)">"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let text = page as NSString
        return regex.matches(in: page, range: NSRange(location: 0, length: text.length)).map { match in
            let name = text.substring(with: match.range(at: 1))
            let value = text.substring(with: match.range(at: 2)).replacingOccurrences(of: "&amp;", with: "&")
            return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }.joined(separator: "&")
    }

    static func post(_ url: String, body: String) async throws -> (status: Int, body: String) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "content-type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Runs a sibling executable to its end; its exit status and standard output and error.
    static func run(_ name: String, _ arguments: [String], env: [String: String]) async throws -> (
        status: Int32, output: String
    ) {
        try await ChildRun.run(
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name),
            arguments, environment: ProcessInfo.processInfo.environment.merging(env) { _, new in new })
    }

    /// Every string in a JSON body that is a feedback URL.
    static func urls(in body: [UInt8]) -> [String] {
        var out: [String] = []
        func walk(_ value: Any) {
            if let s = value as? String, s.contains("/feedback?") { out.append(s) }
            if let a = value as? [Any] { a.forEach(walk) }
            if let o = value as? [String: Any] { o.values.forEach(walk) }
        }
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) { walk(json) }
        return out
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
