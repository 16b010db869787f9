import ArgumentParser
import BlockingWork
import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import Stages
import Synchronization
import WorkerRuntime

/// `fleet-admin bench rescale`: the pause when a replica joins. One `ingest-scorer` member (the
/// stage's own worker and processor) builds the state of `--accounts` accounts across 12 partitions
/// of the in-process mock broker (one event per account, paced so the mock's 5 MiB per partition
/// never drops an event); then, while a producer offers events for every account at a fixed rate,
/// a second member joins the same group. For each partition that moves it prints how long its
/// records waited (from the revoke on the old owner to the first record processed on the new
/// one), split into the time until the new owner is ready (group protocol + restore) and from ready
/// to that first record; the restore's keys, bytes and rates; and the end-to-end delay of the
/// records produced for the moved partitions during the move.
///
/// Nothing is lost silently: the changelog's start offsets are checked (the mock drops the oldest
/// batches of a partition past 5 MiB or 100,000 batches, and then its log no longer starts at 0),
/// and the keys restored must equal the keys the old owner held when it gave the partitions up.
struct RescaleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescale",
        abstract:
            "The pause when a second ingest-scorer replica joins: revoke-to-first-record wait per moved partition, restore keys/s and bytes/s."
    )

    @Option(help: "Accounts whose state the first member builds (one event each).") var accounts = 100_000
    @Option(help: "Partitions of account-events and its changelog.") var partitions = 12
    @Option(help: "Events per second offered for all accounts while the second member joins.") var rate = 2000
    @Option(help: "Seconds of live load before the second member joins.") var settleSeconds = 2
    @Option(help: "The members' session.timeout.ms (the mock's rebalances wait about this minus 1 s).")
    var sessionTimeoutMs = 6000
    @Option(
        help:
            "The scorer producer's compression.type (its changelog and scores): none, gzip, snappy, lz4 (the fleet's default), zstd."
    )
    var compression = "lz4"
    @Option(help: "Extra consumer settings of both members, key=value, comma-separated (restore reads with them too).")
    var consumer = ""
    @Flag(
        help:
            "Both members keep standby copies of the whole changelog (STANDBY_REPLICAS=all): the second warms its copies before it joins."
    )
    var standby = false

    static let logger: Logger = {
        var logger = Logger(label: "bench-rescale")
        logger.logLevel = .error
        return logger
    }()

    func validate() throws {
        guard accounts > 0, partitions > 0, rate > 0 else {
            throw ValidationError("--accounts, --partitions and --rate must be positive")
        }
        _ = try consumerSettings()
    }

    private func consumerSettings() throws -> [String: String] {
        var settings = [
            "session.timeout.ms": String(sessionTimeoutMs), "heartbeat.interval.ms": "300", "fetch.wait.max.ms": "10",
            "queued.min.messages": "200000", "auto.commit.interval.ms": "500",
        ]
        for pair in consumer.split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--consumer: \"\(pair)\" is not key=value") }
            settings[parts[0]] = parts[1]
        }
        return settings
    }

    func run() async throws {
        let cluster = try MockCluster()
        let prefix = "rs\(UInt16.random(in: 0...UInt16.max))."
        for name in [FleetTopics.accountEvents, FleetTopics.healthScores, FleetTopics.scorerState] {
            try cluster.createTopic(prefix + name, partitions: partitions)
        }
        try cluster.createTopic(prefix + FleetTopics.accountEventsDLT, partitions: 3)
        let inputTopic = prefix + FleetTopics.accountEvents
        let changelog = prefix + FleetTopics.scorerState
        print(
            "bench rescale: ingest-scorer, \(accounts) accounts, \(partitions) partitions, mock broker in-process, "
                + "\(ProcessInfo.processInfo.activeProcessorCount) cores, session.timeout.ms \(sessionTimeoutMs), "
                + "compression \(compression), live load \(rate) events/s, standby replicas \(standby ? "all" : "none")"
        )

        let watch = HandOverWatch()
        let settings = WorkerSettings(
            stage: FleetStage.ingestScorer.name, brokers: cluster.bootstrapServers, topicPrefix: prefix,
            groupId: prefix + "scorer", standby: standby ? .all : .none, consumerOverrides: try consumerSettings(),
            producerOverrides: ["compression.type": compression])
        // Events are dated now and time is event time only: no wall-clock re-scoring of a million
        // idle accounts at the top of an hour in the middle of the measurement.
        let env = ["TIME_MODE": "replay"]
        let first = try ScorerStage.make(settings: settings, env: env, logger: Self.logger) {
            HandOverProbe($0, member: 0, watch: watch)
        }
        let firstRun = Task { try await first.run() }
        var second: Worker<HandOverProbe<ScorerProcessor>>?
        var secondRun: Task<Void, any Error>?
        let live = LiveLoad()
        do {
            try await wait(upTo: 60, "the first member to join") { first.status.ready }
            let built = try await build(first, topic: inputTopic, bootstrap: cluster.bootstrapServers)
            print(
                String(
                    format: "state built: %d events (one per account) through the scorer in %.1f s; changelog %@",
                    accounts, built,
                    try changelogSummary(cluster, changelog) as NSString))

            try live.start(
                bootstrap: cluster.bootstrapServers, topic: inputTopic, accounts: accounts, rate: rate,
                logger: Self.logger)
            watch.recording.store(true, ordering: .relaxed)
            try await Task.sleep(for: .seconds(settleSeconds))
            let residentBefore = ResidentMemory.bytes
            let joinedAt = WallClock.system.milliseconds()
            let member = try ScorerStage.make(settings: settings, env: env, logger: Self.logger) {
                HandOverProbe($0, member: 1, watch: watch)
            }
            second = member
            secondRun = Task { try await member.run() }
            try await wait(upTo: 600, "the moved partitions' first records on the second member") {
                let moved = watch.snapshot.handOvers(from: 0, to: 1)
                return member.status.ready && !moved.isEmpty && moved.allSatisfy { $0.firstRecordAt != nil }
            }
            // One more second of load, so every moved partition's backlog is behind it.
            try await Task.sleep(for: .seconds(1))
            watch.recording.store(false, ordering: .relaxed)
            let offered = await live.stop()
            if let warm = member.standbyWarmUp {
                print(
                    String(
                        format: "second member's standby copies: %d keys from %d records, warm %.2f s after its start",
                        warm.keys, warm.records, seconds(warm.duration)))
            }
            print(
                "process resident memory (broker and both members): \(residentBefore >> 20) MiB before the second "
                    + "member, \(ResidentMemory.bytes >> 20) MiB at the end")
            try report(
                watch: watch, joinedAt: joinedAt, restores: member.restoreReports, offered: offered,
                changelog: try changelogSummary(cluster, changelog))
        } catch {
            _ = await live.stop()
            second?.requestStop()
            first.requestStop()
            _ = try? await secondRun?.value
            _ = try? await firstRun.value
            throw error
        }
        second?.requestStop()
        first.requestStop()
        try await secondRun?.value
        try await firstRun.value
    }

    // MARK: - Phases

    /// One event per account through the first member, never more than a window ahead of it;
    /// returns the seconds from the first event sent to the last one's state committed.
    private func build(_ worker: Worker<HandOverProbe<ScorerProcessor>>, topic: String, bootstrap: String)
        async throws -> Double
    {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: bootstrap, ["linger.ms": "10", "batch.num.messages": "10000"]),
            name: "bench-rescale-builder", logger: Self.logger)
        let began = ContinuousClock.now
        let count = accounts
        // 150,000 events of ~170 B ahead of the scorer: about 2 MiB per partition of 12, under the
        // mock's 5 MiB.
        let window = Int64(150_000)
        let failed = Atomic<Int>(0)
        let result: Result<Void, KafkaError> = await BlockingThread.run(name: "bench-rescale-builder") {
            let at = Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds()).rfc3339
            for i in 0..<count {
                while Int64(i) - worker.progress.consumed >= window { usleep(500) }
                let account = RescaleEvents.account(i)
                do throws(KafkaError) {
                    try producer.send(
                        OutgoingRecord(
                            topic: topic, key: account,
                            value: RescaleEvents.login(id: "b-\(i)", account: account, at: at))
                    ) { if case .failure = $0 { failed.add(1, ordering: .relaxed) } }
                } catch { return .failure(error) }
            }
            producer.shutdownBlocking()
            return .success(())
        }
        try result.get()
        guard failed.load(ordering: .relaxed) == 0 else {
            throw ValidationError("\(failed.load(ordering: .relaxed)) events of the build were not acknowledged")
        }
        let events = Int64(count)
        // Committed (lag 0) means every event's state is in the changelog.
        try await wait(upTo: 1800, "the first member to take in the \(count) events") {
            worker.progress.consumed >= events && !worker.consumerLag.isEmpty
                && worker.consumerLag.values.allSatisfy { $0 == 0 }
        }
        return seconds(ContinuousClock.now - began)
    }

    /// Records per changelog partition, and a refusal if the mock dropped any (its log no longer
    /// starts at offset 0).
    private func changelogSummary(_ cluster: MockCluster, _ changelog: String) throws -> String {
        let reader = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), name: "bench-rescale-ends",
            logger: Self.logger)
        defer { reader.close() }
        var highs: [Int64] = []
        for p in 0..<partitions {
            let (low, high) = try reader.watermarks(TopicPartition(changelog, Int32(p)))
            guard low == 0 else {
                throw ValidationError(
                    "the mock broker dropped the oldest \(low) records of changelog partition \(p) (5 MiB or "
                        + "100,000 batches per partition): \(accounts) accounts' states do not fit; use fewer "
                        + "--accounts, more --partitions, or --compression lz4")
            }
            highs.append(high)
        }
        return "\(highs.reduce(0, +)) records, \(highs.min() ?? 0)-\(highs.max() ?? 0) per partition, none dropped"
    }

    private func report(
        watch: HandOverWatch, joinedAt: Int64, restores: [RestoreReport], offered: Int, changelog: String
    ) throws {
        let moved = watch.snapshot.handOvers(from: 0, to: 1)
        let movedSet = Set(moved.map(\.partition))
        print("second member joined; \(moved.count) partitions moved to it: \(moved.map(\.partition))")
        let mine = restores.filter { !movedSet.isDisjoint(with: $0.partitions) }
        // The restore that made each moved partition ready: its own time is the restore's part of
        // the wait; the rest before it is the group protocol (the assignment reaching the member).
        let restoreMs = { (p: Int32) -> Int64 in
            Int64(((mine.last { $0.partitions.contains(p) }?.seconds ?? 0) * 1000).rounded())
        }
        for h in moved {
            print(
                "  partition \(h.partition): revoked \(h.revokedAt - joinedAt) ms after the join; ready "
                    + "\(h.untilReady.map { "\($0) ms (restore \(restoreMs(h.partition)) ms)" } ?? "never") "
                    + "and first record \(h.wait.map { "\($0) ms" } ?? "never") after the revoke")
        }
        if let waits = Percentiles(moved.compactMap(\.wait)),
            let group = Percentiles(moved.compactMap { h in h.untilReady.map { $0 - restoreMs(h.partition) } })
        {
            print(
                "wait, revoke -> first record on the new owner, per moved partition: p50 \(waits.p50) ms, "
                    + "max \(waits.max) ms; of which group protocol (revoke -> restore start): p50 \(group.p50) ms, "
                    + "max \(group.max) ms")
        }
        for r in mine {
            print(
                String(
                    format:
                        "restore of partitions %@: %d keys (%d taken warm), %d records, %.1f MB in %.2f s: %.0f keys/s, %.1f MB/s",
                    "\(r.partitions)" as NSString, r.keys, r.warmKeys, r.records, Double(r.bytes) / 1e6, r.seconds,
                    r.keysPerSecond, r.bytesPerSecond / 1e6))
        }
        let held = movedSet.reduce(0) { $0 + (watch.keysHeldAtRevoke[$1] ?? 0) }
        let restoredKeys = mine.reduce(0) { $0 + $1.keys }
        print("keys held by the old owner at the revoke: \(held); restored by the new owner: \(restoredKeys)")
        let revokedAt = Dictionary(uniqueKeysWithValues: moved.map { ($0.partition, $0.revokedAt) })
        let during = watch.recordedDelays.filter { d in
            guard let at = revokedAt[d.partition] else { return false }
            return d.member == 1 && d.producedAt >= at
        }
        let stayed = watch.recordedDelays.filter { !movedSet.contains($0.partition) && $0.producedAt >= joinedAt }
        if let moving = Percentiles(during.map { $0.processedAt - $0.producedAt }) {
            let others = Percentiles(stayed.map { $0.processedAt - $0.producedAt })
            print(
                "records of the moved partitions produced after their revoke: \(moving.count), produced -> processed "
                    + "p50 \(moving.p50) ms, p99 \(moving.p99) ms, max \(moving.max) ms; partitions that stayed: "
                    + (others.map { "p50 \($0.p50) ms, p99 \($0.p99) ms, max \($0.max) ms" } ?? "none"))
        }
        print("live load: \(offered) events offered; changelog at the end: \(changelog)")
        guard held == restoredKeys else {
            throw ValidationError("the new owner restored \(restoredKeys) keys, the old one held \(held)")
        }
    }

    // MARK: - Helpers

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
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
}

/// The events of `bench rescale`: account ids and logins dated now.
enum RescaleEvents {
    static func account(_ i: Int) -> String { "acct-\(i)" }

    static func login(id: String, account: String, at: String) -> [UInt8] {
        Array(
            #"{"event_id":"\#(id)","account_id":"\#(account)","type":"login","occurred_at":"\#(at)","user_id":"u-1","properties":{}}"#
                .utf8)
    }
}

/// Events offered at a fixed rate for random accounts, on a thread of its own, until stopped.
final class LiveLoad: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let offered = Atomic<Int>(0)
    private let finished = Mutex<Task<Void, Never>?>(nil)

    func start(bootstrap: String, topic: String, accounts: Int, rate: Int, logger: Logger) throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: bootstrap, ["linger.ms": "1"]),
            name: "bench-rescale-live", logger: logger)
        let task = Task { [self] in
            await BlockingThread.run(name: "bench-rescale-live") {
                producer.warmUp(topics: [topic])
                let start = ContinuousClock.now
                var state: UInt64 = 0x9E37_79B9_7F4A_7C15
                var i = 0
                while !self.stopped.load(ordering: .relaxed) {
                    // Offered on schedule: event i leaves at start + i/rate.
                    let due = start + .nanoseconds(Int64(i) * 1_000_000_000 / Int64(rate))
                    let now = ContinuousClock.now
                    if now < due {
                        usleep(UInt32(min((due - now) / .microseconds(1), 10_000)))
                        continue
                    }
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let account = RescaleEvents.account(Int((state >> 33) % UInt64(accounts)))
                    let at = Timestamp(millisecondsSinceEpoch: WallClock.system.milliseconds()).rfc3339
                    try? producer.send(
                        OutgoingRecord(
                            topic: topic, key: account,
                            value: RescaleEvents.login(id: "l-\(i)", account: account, at: at))
                    ) { _ in }
                    i += 1
                    self.offered.store(i, ordering: .relaxed)
                }
                producer.shutdownBlocking()
            }
        }
        finished.withLock { $0 = task }
    }

    /// Stops offering and returns how many events were offered.
    func stop() async -> Int {
        stopped.store(true, ordering: .relaxed)
        let task = finished.withLock { $0 }
        await task?.value
        return offered.load(ordering: .relaxed)
    }
}
