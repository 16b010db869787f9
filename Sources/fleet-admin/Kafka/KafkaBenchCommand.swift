import ArgumentParser
import BlockingWork
import CPassThrough
import Foundation
import Kafka
import Logging
import Synchronization
import WorkerRuntime

/// `fleet-admin bench kafka`: records/s of a consume -> produce pass-through, three ways, on the
/// same local broker in the same run: librdkafka's C API directly (the ceiling), the Swift Kafka
/// layer, and the full worker runtime (offset tracking, DLT path, metrics).
struct KafkaBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Pass-through records/s: C loop vs the Swift Kafka layer vs the worker runtime.")

    @Option(help: "Records per run.") var records = 1_000_000
    @Option(help: "Partitions of the input and output topics.") var partitions = 12
    @Option(help: "Value size in bytes.") var valueBytes = 100
    @Option(help: "Runs of each loop (alternated); the best of each is reported.") var rounds = 1
    @Option(help: "Loops to run, comma-separated: c, swift, runtime.") var loops = "c,swift,runtime"
    @Option(help: "Bootstrap servers; default hosts a mock cluster in this process.") var brokers: String?
    @Option(help: "How far the feeder may run ahead of the loop (keeps the mock under its 5 MiB per partition cap).")
    var window = 200_000

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let cluster = brokers == nil ? try MockCluster() : nil
        let bootstrap = brokers ?? cluster!.bootstrapServers
        let kinds = loops.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        for kind in kinds where !["c", "swift", "runtime"].contains(kind) {
            throw ValidationError("unknown loop \(kind): use c, swift, runtime")
        }
        print(
            "pass-through of \(records) records (\(valueBytes)-byte values, \(partitions) partitions), broker \(cluster == nil ? bootstrap : "mock in-process")"
        )
        var best: [String: Double] = [:]
        for round in 0..<rounds {
            for kind in (round % 2 == 0 ? kinds : kinds.reversed()) {
                let id = "\(kind)-\(round)-\(UInt32.random(in: 0...UInt32.max))"
                let input = "bench-in-\(id)"
                let output = "bench-out-\(id)"
                if let cluster {
                    try cluster.createTopic(input, partitions: partitions)
                    try cluster.createTopic(output, partitions: partitions)
                }
                let progress = Progress()
                let feeder = try Feeder(
                    bootstrap: bootstrap, topic: input, records: records, valueBytes: valueBytes, window: window,
                    progress: progress, logger: logger)
                let seconds: Double
                switch kind {
                case "c":
                    seconds = try runC(
                        bootstrap: bootstrap, input: input, output: output, group: "g-\(id)", progress: progress)
                case "swift":
                    seconds = try runSwiftLayer(
                        bootstrap: bootstrap, input: input, output: output, group: "g-\(id)", progress: progress,
                        logger: logger)
                default:
                    seconds = try await runRuntime(
                        bootstrap: bootstrap, input: input, output: output, group: "g-\(id)", progress: progress,
                        logger: logger)
                }
                feeder.finish()
                let rate = Double(records) / seconds
                best[kind] = max(best[kind] ?? 0, rate)
                print(
                    String(
                        format: "  %-8@ round %d: %.2f s, %8.0f records/s", kind as NSString, round + 1, seconds, rate))
            }
        }
        print("best of \(rounds):")
        for kind in kinds {
            let rate = best[kind]!
            let ratio = best["c"].map { String(format: "  (%.2fx the C loop)", rate / $0) } ?? ""
            print(String(format: "  %-8@ %8.0f records/s%@", kind as NSString, rate, ratio as NSString))
        }
    }

    private func runC(bootstrap: String, input: String, output: String, group: String, progress: Progress) throws
        -> Double
    {
        var errbuf = [CChar](repeating: 0, count: 512)
        let counter = CCounter()
        defer { counter.pointer.deallocate() }
        let watcher = progress.watch { counter.pointer.pointee }
        let n = c_passthrough_run(
            bootstrap, group, input, output, Int64(records), counter.pointer, &errbuf, Int32(errbuf.count))
        watcher.stop()
        guard n == Int64(records) else {
            let message = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ValidationError("C loop failed: \(message)")
        }
        return progress.elapsed
    }

    private func runSwiftLayer(
        bootstrap: String, input: String, output: String, group: String, progress: Progress, logger: Logger
    ) throws -> Double {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: bootstrap, ["group.id": group, "queued.min.messages": "1000000"]), logger: logger)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap), logger: logger)
        try consumer.subscribe([input])
        let tracker = OffsetTracker()
        let acked = AtomicCount()
        let watcher = progress.watch { acked.value.load(ordering: .relaxed) }
        var taken = 0
        while acked.value.load(ordering: .relaxed) < Int64(records) {
            if taken < records {
                for record in try consumer.poll(max: 1000, timeout: .milliseconds(100)) where taken < records {
                    let tp = record.topicPartition
                    let offset = record.offset
                    tracker.open(tp, offset: offset)
                    try producer.send(OutgoingRecord(topic: output, key: record.key, value: record.value)) { result in
                        if case .success = result {
                            tracker.release(tp, offset: offset)
                            acked.value.add(1, ordering: .relaxed)
                        }
                    }
                    taken += 1
                }
            } else {
                _ = try consumer.poll(timeout: .milliseconds(10))
            }
            try consumer.storeOffsets(tracker.takeCommittable())
        }
        watcher.stop()
        producer.shutdownBlocking()
        try consumer.commit()
        consumer.close()
        return progress.elapsed
    }

    private func runRuntime(
        bootstrap: String, input: String, output: String, group: String, progress: Progress, logger: Logger
    ) async throws -> Double {
        let settings = WorkerSettings(
            stage: "bench", brokers: bootstrap, groupId: group, kafka: [:],
            consumerOverrides: ["queued.min.messages": "1000000"])
        let worker = Worker(
            settings: settings, topology: WorkerTopology(inputs: [input], changelog: nil, deadLetter: input + "-dlt"),
            processor: PassThroughProcessor(output: output), logger: logger)
        let target = Int64(records)
        let watcher = progress.watch { min(worker.progress.produced, target) }
        BlockingThread.start(name: "bench-stopper") {
            while worker.progress.produced < target { usleep(1000) }
            worker.requestStop()
        }
        try await worker.run()
        watcher.stop()
        return progress.elapsed
    }
}

/// The C loop's progress counter (written by C with relaxed atomic stores, sampled here).
// @unchecked: the C loop stores to the counter with relaxed atomics; Swift only samples it.
struct CCounter: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
}

/// A shareable atomic counter.
final class AtomicCount: Sendable {
    let value = Atomic<Int64>(0)
}

/// Forwards every record unchanged (stateless).
final class PassThroughProcessor: RecordProcessor {

    let output: String
    init(output: String) { self.output = output }

    func process(_ record: ConsumedRecord, context: ProcessingContext<NoState>) throws(Rejection) {
        context.emit(OutgoingRecord(topic: output, key: record.key, value: record.value))
    }
}

/// Acknowledged outputs over time: from the first to the last.
final class Progress: Sendable {
    let done = Atomic<Int64>(0)
    /// When the counter first and last grew.
    private let growth = Mutex<(first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((nil, nil))

    var elapsed: Double {
        growth.withLock { g in
            guard let first = g.first, let last = g.last else { return .infinity }
            let d = last - first
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
    }

    /// When the counter first and last grew (nil before it grew).
    var span: (first: ContinuousClock.Instant, last: ContinuousClock.Instant)? {
        growth.withLock { g in g.first.flatMap { f in g.last.map { (f, $0) } } }
    }

    /// Samples `read` every millisecond on its own thread until stopped.
    func watch(_ read: @escaping @Sendable () -> Int64) -> Watcher {
        Watcher(progress: self, read: read)
    }

    fileprivate func observe(_ value: Int64) {
        let previous = done.exchange(value, ordering: .relaxed)
        guard value > previous else { return }
        let now = ContinuousClock.now
        growth.withLock { g in
            if g.first == nil { g.first = now }
            g.last = now
        }
    }

    final class Watcher: Sendable {
        private let stopped = Atomic<Bool>(false)
        private let ended = DispatchSemaphore(value: 0)

        fileprivate init(progress: Progress, read: @escaping @Sendable () -> Int64) {
            BlockingThread.start(name: "bench-watcher") { [self] in
                while !self.stopped.load(ordering: .relaxed) {
                    progress.observe(read())
                    usleep(1000)
                }
                progress.observe(read())
                self.ended.signal()
            }
        }

        func stop() {
            stopped.store(true, ordering: .relaxed)
            ended.wait()
        }
    }
}

/// Produces the input on its own thread, at most `window` records ahead of the loop's progress.
final class Feeder: Sendable {
    private let producer: KafkaProducer
    private let finished = DispatchSemaphore(value: 0)

    init(
        bootstrap: String, topic: String, records: Int, valueBytes: Int, window: Int, progress: Progress, logger: Logger
    ) throws {
        producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: bootstrap, ["linger.ms": "10", "batch.num.messages": "10000"]), name: "feeder",
            logger: logger)
        let producer = self.producer
        let value = [UInt8](repeating: 0x61, count: valueBytes)
        let keys = (0..<10_000).map { Array("account-\($0)".utf8) }
        BlockingThread.start(name: "bench-feeder") { [finished] in
            var i = 0
            while i < records {
                if i - Int(progress.done.load(ordering: .relaxed)) >= window {
                    usleep(500)
                    continue
                }
                do {
                    try producer.send(OutgoingRecord(topic: topic, key: keys[i % keys.count], value: value)) { _ in }
                } catch {
                    FileHandle.standardError.write(Data("feeder: \(error)\n".utf8))
                    break
                }
                i += 1
            }
            finished.signal()
        }
    }

    func finish() {
        finished.wait()
        producer.shutdownBlocking()
    }
}
