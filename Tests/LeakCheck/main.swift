// leak-check: one full produce/consume cycle and one worker runtime cycle against an in-process
// mock cluster, after which every handle is gone. Built with AddressSanitizer by
// `scripts/leak-check`, which fails when LeakSanitizer reports a leak whose stack shows a frame
// of our modules.
//
// The cycle runs inside functions, never in top-level variables (those are globals that live until
// exit), so every client is released before `rd_kafka_wait_destroyed` checks that librdkafka has no
// handle left. A handle still alive there (a consumer kept by a retain cycle, a producer never
// destroyed) fails the run by itself, before LeakSanitizer even looks.
import CRdKafka
import Foundation
import Kafka
import Logging
import Synchronization
import WorkerRuntime

// MARK: - Small helpers

/// A check of the cycle that did not hold.
struct CheckFailed: Error, CustomStringConvertible {
    let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(CheckFailed) {
    if !condition { throw CheckFailed(description: message()) }
}

/// Writes a line at once (unbuffered), so it is out before LeakSanitizer's report at exit.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data("leak-check: \(text)\n".utf8))
}

/// Warnings and errors of the clients go to standard error; the cycle's own lines to standard output.
func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel =
        ProcessInfo.processInfo.environment["LEAK_CHECK_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
    return logger
}

/// Runs blocking Kafka calls (poll, commit, lag) on a thread of their own, never the cooperative pool.
func onThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    let result: Result<T, any Error> = await withCheckedContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: .success(try body())) } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        thread.name = name
        thread.start()
    }
    return try result.get()
}

/// Counts delivery reports of the callback `send` and wakes one waiter when all have arrived.
final class DeliveryTally: Sendable {
    private struct State {
        var remaining: Int
        var succeeded = 0
        var failed: [String] = []
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state: Mutex<State>

    init(expecting count: Int) { state = Mutex(State(remaining: count)) }

    func record(_ result: Result<DeliveryReport, KafkaError>) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            switch result {
            case .success: s.succeeded += 1
            case .failure(let error): s.failed.append("\(error)")
            }
            s.remaining -= 1
            guard s.remaining == 0 else { return nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Waits for every report, at most `timeout`; returns how many succeeded, the failures, and how
    /// many never arrived (a completion lost: its box leaked, and an async caller would hang).
    func wait(timeout: Duration = .seconds(30)) async -> (succeeded: Int, failed: [String], missing: Int) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s in
                if s.remaining == 0 { return true }
                s.waiter = continuation
                return false
            }
            if done { continuation.resume() }
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds))) {
                let waiter = self.state.withLock { s in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume()
            }
        }
        return state.withLock { ($0.succeeded, $0.failed, $0.remaining) }
    }
}

/// Records what the group gave and took, as a consumer's rebalance handler.
final class RecordingRebalanceHandler: RebalanceHandler, Sendable {
    private let events = Mutex<[String]>([])

    func partitionsAssigned(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        events.withLock { $0.append("assigned \(partitions.count)") }
    }

    func partitionsRevoked(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        events.withLock { $0.append("revoked \(partitions.count)") }
    }

    func partitionsLost(_ partitions: [TopicPartition], by consumer: KafkaConsumer) {
        events.withLock { $0.append("lost \(partitions.count)") }
    }

    var history: [String] { events.withLock { $0 } }
}

/// The async send's result, failure included.
func outcome(of record: OutgoingRecord, _ producer: KafkaProducer) async -> Result<DeliveryReport, KafkaError> {
    do { return .success(try await producer.send(record)) } catch { return .failure(error) }
}

// MARK: - The worker's processor (a per-key counter, as the worker probe)

struct Count: StateValue {
    var value: UInt64

    init(value: UInt64) { self.value = value }

    init(stateBytes: [UInt8]) throws(Rejection) {
        guard stateBytes.count == 9, stateBytes[0] == 1 else {
            throw Rejection(code: "bad_state", reason: "not a version-1 count")
        }
        value = stateBytes[1...].reduce(0) { $0 << 8 | UInt64($1) }
    }

    var stateBytes: [UInt8] { [1] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
}

/// Counts records per key in its state, forwards each with its count, rejects the value "poison".
final class CountingProcessor: RecordProcessor {
    let output: String
    init(output: String) { self.output = output }

    func process(_ record: ConsumedRecord, context: ProcessingContext<Count>) throws(Rejection) {
        guard let key = record.keyString else { throw Rejection(code: "missing_key", reason: "record has no key") }
        let text = String(decoding: record.value ?? [], as: UTF8.self)
        if text == "poison" { throw Rejection(code: "poison", reason: "value is poison") }
        let count = (context.state[key]?.value ?? 0) + 1
        context.state[key] = Count(value: count)
        context.emit(
            OutgoingRecord(
                topic: output, key: record.key, value: Array("\(text)#\(count)".utf8), headers: record.headers))
    }
}

// MARK: - Phase 1: producer, consumer group, admin

let records = Int(ProcessInfo.processInfo.environment["LEAK_CHECK_RECORDS"] ?? "") ?? 400
let groupTuning = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

func produceAndConsume(_ cluster: MockCluster) async throws {
    let topic = "leak-events"
    try cluster.createTopic(topic, partitions: 3)
    let logger = makeLogger("leak-check")
    let config = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)

    // Produce: half with the async send, half with the callback send; keys and headers on each.
    let producer = try KafkaProducer(configuration: config, name: "leak-producer", logger: logger)
    func record(_ i: Int) -> OutgoingRecord {
        OutgoingRecord(
            topic: topic, key: "account-\(i % 17)", value: Array("value-\(i)".utf8),
            headers: [KafkaHeader(name: "seq", text: String(i)), KafkaHeader(name: "empty", value: nil)])
    }
    let half = records / 2
    var asyncDelivered = 0
    for i in 0..<half {
        let report = try await producer.send(record(i))
        try check(report.topic == topic && report.offset >= 0, "async send \(i): bad report \(report)")
        asyncDelivered += 1
    }
    let tally = DeliveryTally(expecting: records - half)
    for i in half..<records {
        try producer.send(record(i)) { tally.record($0) }
    }
    let (callbackDelivered, callbackFailed, callbackMissing) = await tally.wait()
    try check(
        callbackFailed.isEmpty && callbackMissing == 0,
        "callback send: \(callbackMissing) reports missing, failures: \(callbackFailed)")
    say(
        "produced \(asyncDelivered) records with async send and \(callbackDelivered) with callback send (keys, 2 headers each)"
    )

    // Failure paths of the producer, each of which must still release its completion.
    let tooLarge = OutgoingRecord(topic: topic, key: "big", value: [UInt8](repeating: 0x61, count: 2_000_000))
    let bigResult = await outcome(of: tooLarge, producer)
    guard case .failure(let bigError) = bigResult else { throw CheckFailed(description: "a 2 MB record was accepted") }
    say("2 MB record rejected as expected: \(bigError.codeName)")
    let missing = OutgoingRecord(topic: topic, partition: 42, key: "k", value: [1])
    let missingResult = await outcome(of: missing, producer)
    guard case .failure(let missingError) = missingResult else {
        throw CheckFailed(description: "a record to partition 42 of a 3-partition topic was delivered")
    }
    say("record to a missing partition failed as expected: \(missingError.codeName)")
    try await producer.flush(timeout: .seconds(10))
    await producer.shutdown(timeout: .seconds(10))
    await producer.shutdown()  // twice is allowed

    // A producer dropped without shutdown, with records still queued (long linger): its deinit
    // purges them, and their completions must still run (each owns a retained box).
    let abandoned = DeliveryTally(expecting: 20)
    do {
        let lingering = try KafkaProducer(
            configuration: config.merging(["linger.ms": "60000"]), name: "leak-abandoned", logger: logger)
        for i in 0..<20 { try lingering.send(record(i)) { abandoned.record($0) } }
    }
    let (abandonedOk, abandonedFailed, abandonedMissing) = await abandoned.wait()
    try check(
        abandonedMissing == 0, "producer released without shutdown: \(abandonedMissing) of 20 completions never ran")
    say(
        "producer released without shutdown, records queued: \(abandonedOk) delivered, \(abandonedFailed.count) purged, every completion ran"
    )
    try await abandonInFlight(logger)

    // Consume in a group: subscribe, poll, store offsets, commit, pause/resume, lag.
    let handler = RecordingRebalanceHandler()
    let consumerConfig = config.merging(["group.id": "leak-group"]).merging(groupTuning)
    let consumer = try KafkaConsumer(
        configuration: consumerConfig, name: "leak-consumer", logger: logger, rebalanceHandler: handler)
    let summary: String = try await onThread("leak-consume") {
        try consumer.subscribe([topic])
        var seen = Set<String>()
        var headersOk = 0
        var paused = false
        var pauseRounds = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < records {
            try check(ContinuousClock.now < deadline, "consumed only \(seen.count) of \(records) records in 60 s")
            let batch = try consumer.poll(max: 50, timeout: .milliseconds(200))
            var next: [TopicPartition: Int64] = [:]
            for r in batch {
                seen.insert("\(r.partition)@\(r.offset)")
                let seq = r.headers.last(named: "seq")?.text
                if let seq, let i = Int(seq), r.keyString == "account-\(i % 17)",
                    r.headers.last(named: "empty")?.value == nil
                {
                    headersOk += 1
                }
                next[r.topicPartition] = max(next[r.topicPartition] ?? 0, r.offset + 1)
            }
            try consumer.storeOffsets(next)
            if !paused, !batch.isEmpty {
                // Pause everything assigned for a few polls, then resume.
                try consumer.pause(try consumer.assignment())
                paused = true
            } else if paused, pauseRounds < 3 {
                pauseRounds += 1
                if pauseRounds == 3 { try consumer.resume(try consumer.assignment()) }
            }
        }
        try consumer.commit()
        let assignment = try consumer.assignment()
        let committedNow = try consumer.committed(assignment)
        try consumer.commit(committedNow.compactMapValues { $0 })  // explicit offsets, same values
        let lag = try consumer.lag(assignment)
        let totalLag = lag.reduce(0) { $0 + $1.lag }
        let high = lag.reduce(0) { $0 + $1.high }
        try check(totalLag == 0, "lag \(totalLag) after committing everything: \(lag)")
        try check(
            high == Int64(records + abandonedOk), "high watermarks add up to \(high), expected \(records + abandonedOk)"
        )
        if let first = assignment.first {
            try consumer.seek(first, to: KafkaOffset.beginning)
            _ = consumer.cachedWatermarks(first)
        }
        _ = try consumer.positions(assignment)
        consumer.close()
        return
            "consumed \(seen.count) distinct records (\(headersOk) with key and headers intact) on \(assignment.count) partitions, paused and resumed, committed, lag 0"
    }
    say(summary)
    say("rebalances seen by the handler: \(handler.history.joined(separator: ", "))")
    try check(
        handler.history.first == "assigned 3",
        "first rebalance was not an assignment of 3 partitions: \(handler.history)")

    // A consumer released without close: its deinit leaves the group and destroys the handle.
    do {
        let dropped = try KafkaConsumer(
            configuration: consumerConfig.merging(["group.id": "leak-dropped"]), name: "leak-dropped", logger: logger,
            rebalanceHandler: RecordingRebalanceHandler())
        try dropped.subscribe([topic])
        _ = try await dropped.next(timeout: .milliseconds(300))
    }
    say("consumer released without close")

    // Admin: list the topics; ask for a topic creation the mock cannot do (exercises the error path).
    let admin = try KafkaAdmin(configuration: config, logger: logger, timeout: .seconds(2))
    let topics = try await admin.listTopics()
    try check(
        topics[topic]?.partitions == 3, "listTopics: \(topic) not found with 3 partitions in \(topics.keys.sorted())")
    say("admin listed \(topics.count) topics: \(topics.keys.sorted().joined(separator: ", "))")
    do {
        let created = try await admin.createTopics([
            TopicDescription(
                name: "leak-admin", partitions: 2, replicationFactor: 1, configs: ["cleanup.policy": "compact"])
        ])
        say("admin createTopics answered: \(created.mapValues { $0.map { "\($0.codeName)" } ?? "created" })")
    } catch {
        say(
            "admin createTopics failed as the mock has no Admin API: \(error.codeName.isEmpty ? error.message : error.codeName)"
        )
    }
}

/// A producer released without shutdown while its records are in flight: a second mock cluster
/// answers produce requests only after 3 s, the producer is dropped before that, and every
/// completion must still run (each owns a retained box that only its delivery report releases).
func abandonInFlight(_ logger: Logger) async throws {
    var errstr = [CChar](repeating: 0, count: 512)
    guard let conf = rd_kafka_conf_new() else { throw CheckFailed(description: "rd_kafka_conf_new failed") }
    rd_kafka_conf_set(conf, "log_level", "3", &errstr, errstr.count)
    guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
        throw CheckFailed(description: errstr.description)
    }
    defer { rd_kafka_destroy(owner) }
    guard let slow = rd_kafka_mock_cluster_new(owner, 1) else {
        throw CheckFailed(description: "second mock cluster failed")
    }
    defer { rd_kafka_mock_cluster_destroy(slow) }
    rd_kafka_mock_topic_create(slow, "leak-slow", 1, 1)
    let bootstrap = String(cString: rd_kafka_mock_cluster_bootstraps(slow))
    let inFlight = DeliveryTally(expecting: 20)
    do {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: bootstrap, ["linger.ms": "0"]), name: "leak-inflight",
            logger: logger)
        // connection and producer id ready
        _ = try await producer.send(OutgoingRecord(topic: "leak-slow", key: "warm", value: [0]))
        rd_kafka_mock_broker_set_rtt(slow, 1, 3000)
        for i in 0..<20 {
            try producer.send(OutgoingRecord(topic: "leak-slow", key: "k\(i)", value: [1])) { inFlight.record($0) }
        }
        // Bounded by the API, shorter than the round trip: the records are now on the wire.
        let flushed: Bool
        do {
            try await producer.flush(timeout: .milliseconds(500))
            flushed = true
        } catch { flushed = false }
        try check(!flushed, "records were acknowledged before the 3 s round trip")
    }
    let (ok, failed, missing) = await inFlight.wait(timeout: .seconds(10))
    try check(
        missing == 0,
        "producer released with records in flight: \(missing) of 20 completions never ran (their boxes leak)")
    say(
        "producer released without shutdown, records in flight: \(ok) delivered, \(failed.count) purged, every completion ran"
    )
}

// MARK: - Phase 2: the worker runtime

/// Outputs the worker has written so far, read from the beginning by a plain (group-less) consumer.
func readAll(_ cluster: MockCluster, _ topic: String, partitions: Int32) throws -> [ConsumedRecord] {
    let reader = try KafkaConsumer(
        configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), name: "leak-reader",
        logger: makeLogger("leak-reader"))
    defer { reader.close() }
    var ends: [TopicPartition: Int64] = [:]
    for p in 0..<partitions {
        let tp = TopicPartition(topic, p)
        let (low, high) = try reader.watermarks(tp)
        if high > low { ends[tp] = high }
    }
    guard !ends.isEmpty else { return [] }
    try reader.assign(ends.mapValues { _ in KafkaOffset.beginning })
    var out: [ConsumedRecord] = []
    let deadline = ContinuousClock.now + .seconds(20)
    while !ends.isEmpty, ContinuousClock.now < deadline {
        guard let r = try reader.poll(timeout: .milliseconds(200)) else { continue }
        out.append(r)
        if let end = ends[r.topicPartition], r.offset + 1 >= end { ends[r.topicPartition] = nil }
    }
    return out
}

func workerCycle(_ cluster: MockCluster) async throws {
    let input = "leak-worker-in"
    let output = "leak-worker-out"
    let changelog = "leak-worker-state"
    let dlt = "leak-worker-dlt"
    for name in [input, output, changelog] { try cluster.createTopic(name, partitions: 2) }
    try cluster.createTopic(dlt, partitions: 1)
    let logger = makeLogger("leak-check")
    let config = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
    let producer = try KafkaProducer(configuration: config, name: "leak-feeder", logger: logger)
    defer { producer.shutdownBlocking(timeout: .seconds(10)) }
    let keys = ["a", "b", "c", "d", "e"]
    var inputs: [OutgoingRecord] = (0..<30).map { i in
        OutgoingRecord(
            topic: input, key: keys[i % keys.count], value: Array("v\(i)".utf8),
            headers: [KafkaHeader(name: "trace", text: "t\(i)")])
    }
    inputs.append(OutgoingRecord(topic: input, key: "a", value: Array("poison".utf8)))
    for r in inputs { _ = try await producer.send(r) }
    let topology = WorkerTopology(inputs: [input], changelog: changelog, deadLetter: dlt)

    // Round 1: process the 31 records; stop once 30 outputs and 1 dead letter are written.
    let first = try await runUntil(cluster, topology: topology, round: 1, watching: [(output, 2), (dlt, 1)]) { seen in
        let outs = seen.filter { $0.topic == output }.count
        let dead = seen.filter { $0.topic == dlt }.count
        return outs >= 30 && dead >= 1 ? "\(outs) outputs, \(dead) dead letter" : nil
    }
    let state = try readAll(cluster, changelog, partitions: 2)
    let dead = try readAll(cluster, dlt, partitions: 1)
    try check(
        dead.count == 1 && dead[0].headers.last(named: DeadLetter.codeHeader)?.text == "poison",
        "dead letter: \(dead.map(\.headers))")
    try check(
        Set(state.compactMap(\.keyString)) == Set(keys),
        "changelog keys \(state.compactMap(\.keyString)), expected \(keys)")
    say(
        "worker round 1: \(first); changelog holds \(state.count) records for keys \(Set(state.compactMap(\.keyString)).sorted())"
    )

    // Round 2: a new worker restores the state from the changelog and counts on from it.
    _ = try await producer.send(OutgoingRecord(topic: input, key: "a", value: Array("again".utf8)))
    let second = try await runUntil(cluster, topology: topology, round: 2, watching: [(output, 2)]) { seen in
        seen.contains { $0.value.map { String(decoding: $0, as: UTF8.self) } == "again#7" }
            ? "output again#7 written" : nil
    }
    say("worker round 2: state restored from the changelog, \(second)")

    // Round 3: a worker that cannot start (a subscription librdkafka refuses) must release its clients too.
    let settings = WorkerSettings(
        stage: "leak-bad", brokers: cluster.bootstrapServers, groupId: "leak-bad", logLevel: "error",
        commitInterval: .milliseconds(200), shutdownTimeout: .seconds(5), consumerOverrides: groupTuning)
    let bad = Worker(
        settings: settings, topology: WorkerTopology(inputs: [input, input], changelog: changelog, deadLetter: dlt),
        processor: CountingProcessor(output: output), logger: makeLogger("leak-bad"))
    // Should librdkafka accept the subscription after all, stop that worker instead of hanging.
    DispatchQueue.global().asyncAfter(deadline: .now() + 15) { [weak bad] in bad?.requestStop() }
    do {
        try await bad.run()
        say("worker round 3: the duplicated subscription was accepted; stopped by the watchdog")
    } catch {
        say("worker round 3: failed to start as expected (\(error))")
    }
}

/// Runs a worker until `done` accepts what a watching consumer has read so far from the start of
/// `watching` (read off the cooperative pool), then stops the worker and waits for its graceful stop.
func runUntil(
    _ cluster: MockCluster, topology: WorkerTopology, round: Int, watching: [(String, Int32)],
    done: @escaping @Sendable ([ConsumedRecord]) -> String?
) async throws -> String {
    let settings = WorkerSettings(
        stage: "leak", brokers: cluster.bootstrapServers, groupId: "leak-worker", logLevel: "error",
        commitInterval: .milliseconds(200), shutdownTimeout: .seconds(10), consumerOverrides: groupTuning)
    let worker = Worker(
        settings: settings, topology: topology, processor: CountingProcessor(output: "leak-worker-out"),
        logger: makeLogger("leak-worker-\(round)"), tickInterval: .milliseconds(200))
    let task = Task { try await worker.run() }
    let bootstrap = cluster.bootstrapServers
    let seen: String
    do {
        seen = try await onThread("leak-watch-\(round)") { () throws -> String in
            let watcher = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: bootstrap), name: "leak-watch",
                logger: makeLogger("leak-watch"))
            defer { watcher.close() }
            var start: [TopicPartition: Int64] = [:]
            for (topic, count) in watching {
                for p in 0..<count { start[TopicPartition(topic, p)] = KafkaOffset.beginning }
            }
            try watcher.assign(start)
            var records: [ConsumedRecord] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                records += try watcher.poll(max: 100, timeout: .milliseconds(200))
                if let seen = done(records) { return seen }
            }
            throw CheckFailed(
                description:
                    "worker round \(round): expected outputs not seen in 60 s; worker status: \(worker.status.detail)")
        }
    } catch {
        worker.requestStop()
        _ = await task.result
        throw error
    }
    worker.requestStop()
    try await task.value
    let progress = worker.progress
    return "\(seen) (consumed \(progress.consumed), acknowledged \(progress.produced))"
}

// MARK: - Main

/// The whole cycle; returns the exit status. Everything it creates is released when it returns.
func leakCheck() async -> Int32 {
    let started = ContinuousClock.now
    do {
        let cluster = try MockCluster(brokers: 1)
        say("mock cluster at \(cluster.bootstrapServers)")
        try await produceAndConsume(cluster)
        try await workerCycle(cluster)
    } catch {
        say("FAILED: \(error)")
        return 1
    }
    // Every rd_kafka_t of ours (and the mock cluster's) must be gone: a client kept alive by a retain
    // cycle or never destroyed shows here as a timeout. It also lets librdkafka's threads end before
    // LeakSanitizer looks at the heap.
    let remaining = rd_kafka_wait_destroyed(5000)
    if remaining != 0 {
        say(
            "FAILED: librdkafka handles still alive 5 s after the cycle (rd_kafka_wait_destroyed returned \(remaining))"
        )
        return 1
    }
    say("every librdkafka handle destroyed; cycle done in \(ContinuousClock.now - started)")
    return 0
}

exit(await leakCheck())
