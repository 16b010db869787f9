import ArgumentParser
import Contracts
import Foundation
import HealthModel
import Kafka
import Stages
import Synchronization

/// `fleet-admin produce FILE|-`: account events from a file onto a cluster, keyed by account.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send a file of account events (JSON lines) to a cluster, keyed by account_id.",
        discussion: """
            Reaches the cluster as the stages do: KAFKA_BROKERS and any KAFKA_* property (TLS, SASL), \
            TOPIC_PREFIX, with --brokers and --prefix over them. Each line is checked first, as \
            `events validate` does: a refused line is not sent, and is printed with its line number and \
            reason (exit status 1 at the end). The producer is idempotent with acks=all; the command ends \
            once every event is acknowledged.

            Put the sample on your own cluster:
              fleet-admin topics apply --file topics/topics.yaml
              fleet-admin sample --accounts 100 --days 30 | fleet-admin produce - --rate 2000
            """
    )

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "A file of JSON lines, or - for standard input.")
    var file: String

    @Option(help: "The topic (catalog name; TOPIC_PREFIX is put before it).")
    var topic: String = FleetTopics.accountEvents

    @Option(help: "At most this many events per second (0: as fast as the cluster takes them).")
    var rate: Double = 0

    @Option(help: "Event times further ahead of now are refused, as MAX_CLOCK_SKEW_MS does in the stages.")
    var maxClockSkewMs: Int64 = Int64(ProcessInfo.processInfo.environment["MAX_CLOCK_SKEW_MS"] ?? "") ?? 600_000

    func validate() throws {
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
    }

    func run() async throws {
        let settings = try cluster.settings()
        let target = cluster.topic(topic, settings: settings)
        let producer = try KafkaProducer(
            configuration: settings.producerConfiguration, name: "produce",
            logger: ClusterOptions.quietLogger)
        producer.warmUp(topics: [target])
        let acknowledged = Atomic<Int>(0)
        let failed = Mutex<(count: Int, first: String?)>((0, nil))
        var check = EventFileCheck(
            nowMilliseconds: WallClock.system.milliseconds(),
            maxClockSkewMilliseconds: maxClockSkewMs, keepProblems: 100)
        let started = ContinuousClock.now
        var sent = 0
        var lastReport = started
        let interactive = isatty(STDERR_FILENO) == 1
        do {
            try JSONLines.forEachLine(in: file) { line in
                guard let event = check.check(line) else { return }  // refused (reported below) or blank
                if rate > 0 {
                    // Paced on the clock from the start: no burst beyond the rate, no drift.
                    let due = started + .seconds(Double(sent) / rate)
                    let wait = due - ContinuousClock.now
                    if wait > .zero { usleep(UInt32(min(1_000_000, max(0, wait.seconds * 1_000_000)))) }
                }
                try producer.send(OutgoingRecord(topic: target, key: event.accountId, value: Array(line))) { result in
                    switch result {
                    case .success: acknowledged.add(1, ordering: .relaxed)
                    case .failure(let error):
                        failed.withLock { f in
                            f.count += 1
                            f.first = f.first ?? "\(error)"
                        }
                    }
                }
                sent += 1
                let now = ContinuousClock.now
                if interactive, now - lastReport >= .seconds(1) {
                    lastReport = now
                    let acked = acknowledged.load(ordering: .relaxed)
                    let perSecond = Int(Double(acked) / max(0.001, (now - started).seconds))
                    FileHandle.standardError.write(
                        Data("\rsent \(sent), acknowledged \(acked) (\(perSecond)/s)   ".utf8))
                }
            }
            try await producer.flush(timeout: .seconds(60))
        } catch {
            await producer.shutdown()
            FileHandle.standardError.write(Data("produce: \(error)\n".utf8))
            throw ExitCode(2)
        }
        await producer.shutdown()
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        let name = file == "-" ? "stdin" : file
        for p in check.problems { print("\(name):\(p.line): \(p.code): \(p.reason) (not sent)") }
        let seconds = (ContinuousClock.now - started).seconds
        let (failures, firstFailure) = failed.withLock { ($0.count, $0.first) }
        print(
            "\(acknowledged.load(ordering: .relaxed)) of \(sent) events acknowledged by \(target) in "
                + String(format: "%.1f", seconds) + " s; \(check.refused) refused lines not sent; \(failures) failed"
                + (firstFailure.map { " (first: \($0))" } ?? ""))
        if check.refused > 0 || failures > 0 { throw ExitCode(1) }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
