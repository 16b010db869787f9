import AlertRules
import ArgumentParser
import BlockingWork
import CPassThrough
import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import SlackSink
import Stages
import Synchronization
import WorkerRuntime

/// `fleet-admin bench fleet`: the fleet's own stages in one process against one mock broker, in the
/// same run as the C pass-through loop (`bench kafka`'s baseline):
///
/// 1. **c**: the C consume -> produce loop, records/s (the ceiling on this machine, this run);
/// 2. **throughput**: the sample's events through `ingest-scorer` and `evaluator` (the same stage
///    factories the executables use) into `alerts`, events/s from the first event consumed to the
///    last score record evaluated, and its ratio to the C loop;
/// 3. **latency**: scorer, evaluator and dispatcher with a local Slack-like sink that is not rate
///    limited; live events offered at a fixed rate, among them probe events (a failed billing
///    retry of a fresh account, which raises an alert at once); event-to-Slack latency is from the
///    probe's send to its message's arrival at the sink, p50/p99/max.
struct FleetBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract:
            "End to end: events/s through scorer and evaluator (vs the C loop), event-to-Slack latency at a fixed load."
    )

    @Option(help: "Records of the C pass-through loop.") var cRecords = 500_000
    @Option(help: "Sample accounts for the throughput run.") var accounts = 2000
    @Option(help: "Sample days for the throughput run.") var days = 30
    @Option(help: "Offered load of the latency run, events/s.") var rate = 5000
    @Option(help: "Length of the latency run, seconds.") var seconds = 30
    @Option(
        help:
            "Seconds of load offered before the latency run's first probe (the stages' first states and joins are not what it measures)."
    )
    var warmUpSeconds = 3
    @Option(help: "Probe events per second in the latency run (each a fresh account's failed billing retry).")
    var probesPerSecond = 20
    @Option(help: "The dispatcher's GROUP_WAIT_MS in the latency run (the shipped default is 500).") var groupWaitMs = 0
    @Option(help: "Rules file.") var rules = "config/rules.yaml"
    @Option(help: "Scoring file for the scorer stage (SCORING_FILE); default: the built-in defaults.")
    var scoring: String?
    @Option(help: "Phases to run, comma-separated: c, throughput, latency.") var phases = "c,throughput,latency"

    static let logger: Logger = {
        var logger = Logger(label: "bench-fleet")
        logger.logLevel = .error
        return logger
    }()

    /// Consumer settings of the stages in these runs (as the demo sets them).
    static let consumerOverrides = [
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "300", "fetch.wait.max.ms": "10",
        "queued.min.messages": "200000", "auto.commit.interval.ms": "500",
    ]

    func run() async throws {
        let cluster = try MockCluster()
        let wanted = Set(phases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        print(
            "bench fleet: mock broker in-process, \(ProcessInfo.processInfo.activeProcessorCount) cores, rules \(rules)"
        )
        var cRate: Double?
        if wanted.contains("c") {
            let rate = try runC(cluster)
            cRate = rate
            print(
                String(
                    format: "c pass-through loop: %d records (100-byte values, 12 partitions): %.0f records/s",
                    cRecords, rate))
        }
        if wanted.contains("throughput") {
            let (events, elapsed, scores, alerts) = try await runThroughput(cluster)
            let eventsPerSecond = Double(events) / elapsed
            let ratio = cRate.map { String(format: " (%.2fx the C loop's records/s)", eventsPerSecond / $0) } ?? ""
            print(
                String(
                    format:
                        "scorer + evaluator: %d events (%d accounts, %d days) -> %d scores -> %d alerts in %.2f s: %.0f events/s%@",
                    events, accounts, days, scores, alerts, elapsed, eventsPerSecond, ratio as NSString))
        }
        if wanted.contains("latency") {
            try await runLatency(cluster)
        }
    }

    // MARK: - C loop

    private func runC(_ cluster: MockCluster) throws -> Double {
        let id = UInt32.random(in: 0...UInt32.max)
        let input = "bench-in-\(id)"
        let output = "bench-out-\(id)"
        try cluster.createTopic(input, partitions: 12)
        try cluster.createTopic(output, partitions: 12)
        let progress = Progress()
        let feeder = try Feeder(
            bootstrap: cluster.bootstrapServers, topic: input, records: cRecords, valueBytes: 100, window: 200_000,
            progress: progress, logger: Self.logger)
        var errbuf = [CChar](repeating: 0, count: 512)
        let counter = CCounter()
        defer { counter.pointer.deallocate() }
        let watcher = progress.watch { counter.pointer.pointee }
        let n = c_passthrough_run(
            cluster.bootstrapServers, "g-c-\(id)", input, output, Int64(cRecords), counter.pointer, &errbuf,
            Int32(errbuf.count))
        watcher.stop()
        feeder.finish()
        guard n == Int64(cRecords) else {
            throw ValidationError(
                "C loop failed: "
                    + String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Double(cRecords) / progress.elapsed
    }

    // MARK: - Stages

    private func createTopics(_ cluster: MockCluster, prefix: String) throws {
        for name in [
            FleetTopics.accountEvents, FleetTopics.healthScores, FleetTopics.scorerState, FleetTopics.evaluatorState,
            FleetTopics.alerts,
            FleetTopics.alertsDelivered, FleetTopics.dispatcherState,
        ] + FleetTopics.alertsRetry {
            try cluster.createTopic(prefix + name, partitions: 12)
        }
        for name in [FleetTopics.accountEventsDLT, FleetTopics.healthScoresDLT, FleetTopics.alertsDLT] {
            try cluster.createTopic(prefix + name, partitions: 3)
        }
    }

    private func settings(_ cluster: MockCluster, stage: FleetStage, prefix: String) -> WorkerSettings {
        WorkerSettings(
            stage: stage.name, brokers: cluster.bootstrapServers, topicPrefix: prefix, groupId: prefix + stage.name,
            consumerOverrides: Self.consumerOverrides)
    }

    /// Sums the high watermarks of a topic's partitions (blocking; outside any hot path).
    private func total(_ cluster: MockCluster, topic: String, partitions: Int) throws -> Int64 {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), name: "bench-counter",
            logger: Self.logger)
        defer { consumer.close() }
        var sum: Int64 = 0
        for p in 0..<partitions { sum += try consumer.watermarks(TopicPartition(topic, Int32(p))).high }
        return sum
    }

    /// Waits (checking every 5 ms, with a deadline) until `condition` holds.
    private func wait(upTo seconds: Double, _ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while try !condition() {
            guard ContinuousClock.now < deadline else {
                throw ValidationError("timed out after \(Int(seconds)) s waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func runThroughput(_ cluster: MockCluster) async throws -> (
        events: Int, seconds: Double, scores: Int64, alerts: Int64
    ) {
        let prefix = "tp\(UInt16.random(in: 0...UInt16.max))."
        try createTopics(cluster, prefix: prefix)
        // The sample is history: the scorer runs in event time (as the demo does), or once caught
        // up its wall clock would re-score every account up to today and flood `alerts`.
        var env = ["RULES_FILE": rules, "TIME_MODE": "replay"]
        if let scoring { env["SCORING_FILE"] = scoring }
        let scorer = try ScorerStage.make(
            settings: settings(cluster, stage: .ingestScorer, prefix: prefix), env: env, logger: Self.logger)
        let evaluator = try EvaluatorStage.make(
            settings: settings(cluster, stage: .evaluator, prefix: prefix), env: env, logger: Self.logger)
        let runs = [Task { try await scorer.run() }, Task { try await evaluator.run() }]

        // The sample, generated before timing; keyed by account as producers do.
        let generator = SampleGenerator(options: .init(seed: 42, accounts: accounts, days: days))
        let parser = EventParser()
        var lines: [(String, [UInt8])] = []
        for day in 0..<days {
            for line in generator.lines(forDay: day) {
                lines.append(((try? parser.parse(line).accountId) ?? "unkeyed", line))
            }
        }
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, ["linger.ms": "10", "batch.num.messages": "10000"]),
            name: "bench-feeder", logger: Self.logger)
        let topic = prefix + FleetTopics.accountEvents
        let window: Int64 = 150_000  // the mock keeps 5 MiB per partition: stay well under it
        // From the first event the scorer reads to the last score record the evaluator reads.
        let scorerProgress = Progress()
        let evaluatorProgress = Progress()
        let scorerWatch = scorerProgress.watch { scorer.progress.consumed }
        let evaluatorWatch = evaluatorProgress.watch { evaluator.progress.consumed }
        for (i, (key, value)) in lines.enumerated() {
            while Int64(i) - scorer.progress.consumed >= window { try await Task.sleep(for: .milliseconds(1)) }
            try producer.send(OutgoingRecord(topic: topic, key: key, value: value)) { _ in }
        }
        try await producer.flush()
        // Done when the scorer has read every event and finished them (its outputs acknowledged),
        // and the evaluator has read and finished every score record the scorer wrote.
        let events = Int64(lines.count)
        try await wait(upTo: 600, "the scorer") {
            scorer.progress.consumed >= events && !scorer.consumerLag.isEmpty
                && scorer.consumerLag.values.allSatisfy { $0 == 0 }
        }
        let scores = try total(cluster, topic: prefix + FleetTopics.healthScores, partitions: 12)
        try await wait(upTo: 600, "the evaluator") { evaluator.progress.consumed >= scores }
        scorerWatch.stop()
        evaluatorWatch.stop()
        // The evaluator's outputs are acknowledged before its offsets move; wait for that too.
        try await wait(upTo: 60, "the evaluator's outputs") {
            !evaluator.consumerLag.isEmpty && evaluator.consumerLag.values.allSatisfy { $0 == 0 }
        }
        let alerts = try total(cluster, topic: prefix + FleetTopics.alerts, partitions: 12)
        scorer.requestStop()
        evaluator.requestStop()
        for run in runs { try await run.value }
        await producer.shutdown()
        guard let begin = scorerProgress.span?.first, let end = evaluatorProgress.span?.last else {
            throw ValidationError("the stages never started")
        }
        let d = end - begin
        return (lines.count, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18, scores, alerts)
    }

    private func runLatency(_ cluster: MockCluster) async throws {
        let prefix = "lat\(UInt16.random(in: 0...UInt16.max))."
        try createTopics(cluster, prefix: prefix)
        let sent = Mutex<[String: Int64]>([:])  // probe account -> wall ms at send
        let latencies = Mutex<[Int64]>([])  // one per Slack message about a probe
        let arrivedProbes = Mutex<Set<String>>([])
        let firstArrival = Mutex<[String: Int64]>([:])  // probe account -> wall ms of its first message
        let messages = Atomic<Int>(0)
        let sink = SlackSink(recordRequests: false, recordBodies: true) { request in
            messages.add(1, ordering: .relaxed)
            let text = request.bodyText
            guard let range = text.range(of: #"probe-[0-9]{6}"#, options: .regularExpression) else { return }
            let account = String(text[range])
            let arrived = request.arrivalWallMilliseconds
            if let at = sent.withLock({ $0[account] }) {
                latencies.withLock { $0.append(arrived - at) }
                arrivedProbes.withLock { _ = $0.insert(account) }
                firstArrival.withLock { if $0[account] == nil { $0[account] = arrived } }
            }
        }
        let port = try await sink.start()
        let rulesConfig = try RulesConfig.parse(yaml: String(contentsOfFile: rules, encoding: .utf8), file: rules)
        var yaml = "destinations:\n"
        for name in Set(rulesConfig.routes.map(\.destination)).sorted() {
            yaml +=
                "  \(name):\n    type: slack\n    url: http://127.0.0.1:\(port)/services/bench/\(name)\n    allow_insecure_http: true\n    rate_per_second: 100000\n    burst: 100000\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bench-fleet-destinations-\(port).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var env = [
            "RULES_FILE": rules, "DESTINATIONS_FILE": file.path, "DISPATCHER_SCHEDULE": "off",
            "GROUP_WAIT_MS": String(groupWaitMs),
        ]
        if let scoring { env["SCORING_FILE"] = scoring }
        let scorer = try ScorerStage.make(
            settings: settings(cluster, stage: .ingestScorer, prefix: prefix), env: env, logger: Self.logger)
        let evaluator = try EvaluatorStage.make(
            settings: settings(cluster, stage: .evaluator, prefix: prefix), env: env, logger: Self.logger)
        let dispatcher = try DispatcherStage.make(
            settings: settings(cluster, stage: .dispatcher, prefix: prefix), env: env, logger: Self.logger)
        let runs = [
            Task { try await scorer.run() }, Task { try await evaluator.run() },
            Task { try await dispatcher.worker.run() },
        ]
        try await wait(upTo: 60, "the stages to be ready") {
            scorer.status.ready && evaluator.status.ready && dispatcher.worker.status.ready
        }

        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "1"]),
            name: "bench-load", logger: Self.logger)
        let topic = prefix + FleetTopics.accountEvents
        // Without it the first events wait up to 1 s for librdkafka's scan of unknown topics, and
        // the first probes' latency measures that instead of the fleet. Blocking: off the pool.
        await BlockingThread.run { producer.warmUp(topics: [topic]) }
        let failed = Atomic<Int>(0)
        let every = max(1, rate / max(1, probesPerSecond))
        let warmUpCount = rate * warmUpSeconds
        let offeredCount = rate * seconds + warmUpCount
        let start = ContinuousClock.now
        var probes = 0
        for i in 0..<offeredCount {
            // Offered on schedule: event i leaves at start + i/rate.
            let due = start + .nanoseconds(Int64(i) * 1_000_000_000 / Int64(rate))
            if ContinuousClock.now < due { try await Task.sleep(until: due, clock: .continuous) }
            let now = WallClock.system.milliseconds()
            let at = Timestamp(millisecondsSinceEpoch: now).rfc3339
            let key: String
            let line: String
            if i >= warmUpCount, i % every == 0 {
                probes += 1
                key = String(format: "probe-%06d", probes)
                line =
                    #"{"event_id":"pe-\#(probes)","account_id":"\#(key)","type":"billing_retry_failed","occurred_at":"\#(at)","properties":{"payment_id":"P-\#(probes)","invoice_id":"I-\#(probes)","amount":4000,"currency":"USD"}}"#
                sent.withLock { $0[key] = now }
            } else {
                key = "acct-\(i % 10_000)"
                line =
                    #"{"event_id":"be-\#(i)","account_id":"\#(key)","type":"login","occurred_at":"\#(at)","user_id":"u-\#(i % 7)","properties":{}}"#
            }
            try producer.send(OutgoingRecord(topic: topic, key: key, value: Array(line.utf8))) { result in
                if case .failure = result { failed.add(1, ordering: .relaxed) }
            }
        }
        let offeredFor = ContinuousClock.now - start
        // Every probe seen at the sink, and every alert finished by the dispatcher (all its messages).
        let allLagZero = { (lag: [TopicPartition: Int64]) in !lag.isEmpty && lag.values.allSatisfy { $0 == 0 } }
        try? await wait(upTo: 15, "the last probes") {
            arrivedProbes.withLock { $0.count } == probes && allLagZero(evaluator.consumerLag)
                && allLagZero(dispatcher.worker.consumerLag)
        }
        let lost = probes - arrivedProbes.withLock { $0.count }
        let alertsRaised = try total(cluster, topic: prefix + FleetTopics.alerts, partitions: 12)
        let scoresWritten = try total(cluster, topic: prefix + FleetTopics.healthScores, partitions: 12)
        let hops = try await ProbeHops.measure(
            cluster, prefix: prefix, sent: sent.withLock { $0 }, slack: firstArrival.withLock { $0 },
            logger: Self.logger)
        scorer.requestStop()
        evaluator.requestStop()
        dispatcher.worker.requestStop()
        for run in runs { try await run.value }
        await dispatcher.deliverer.shutdown()
        await producer.shutdown()
        await sink.stop()

        let sorted = latencies.withLock { $0 }.sorted()
        func percentile(_ p: Double) -> Int64 { ProbeHops.nearestRank(p, of: sorted) }
        let offered =
            Double(offeredCount)
            / (Double(offeredFor.components.seconds) + Double(offeredFor.components.attoseconds) / 1e18)
        print(
            String(
                format:
                    "latency: %d events offered at %.0f events/s for %d s after %d s of warm-up (%d probes), GROUP_WAIT_MS=%d, sink not rate limited, %d send failures",
                offeredCount, offered, seconds, warmUpSeconds, probes, groupWaitMs, failed.load(ordering: .relaxed)))
        print("  \(scoresWritten) scores, \(alertsRaised) alerts, \(messages.load(ordering: .relaxed)) Slack messages")
        print(
            "  event -> Slack: p50 \(percentile(0.50)) ms, p99 \(percentile(0.99)) ms, max \(sorted.last ?? -1) ms over \(sorted.count) messages about \(probes - lost) probes; \(lost) probes not arrived within 15 s"
        )
        print("  per hop, each probe's first record (record timestamps are the producers' clocks at the send):")
        for line in hops.lines { print("    " + line) }
    }
}
