import ArgumentParser
import Contracts
import Foundation
import Logging
import SlackDelivery
import SlackSink
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `fleet-admin bench slack`: deliveries per second from this process to a local Slack-like sink,
/// spread over many destinations each held to its rate limit, and the CPU time per delivery.
///
/// Run pinned to one core, e.g. `taskset -c 0 fleet-admin bench slack`. The sink runs in this
/// process on its own NIO event loop (same core), or in another process given by `--sink-url`
/// (e.g. `taskset -c 1 fleet-admin slack-sink --port 9199 --quiet --report-every 10`).
struct SlackBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slack",
        abstract: "Benchmark Slack delivery: deliveries/s over many rate-limited destinations, CPU per delivery."
    )

    @Option(name: .long, help: "Number of destinations (webhooks).")
    var destinations: Int = 10_000

    @Option(name: .long, help: "Measured seconds (after the warm-up).")
    var seconds: Int = 60

    @Option(name: .long, help: "Warm-up seconds, not measured (the first burst of every bucket falls here).")
    var warmup: Int = 5

    @Option(name: .long, help: "Messages per second per destination.")
    var rate: Double = 1

    @Option(name: .long, help: "Burst per destination.")
    var burst: Int = 3

    @Option(name: .long, help: "Messages kept queued per destination by the feeder.")
    var depth: Int = 2

    @Option(
        name: .long,
        help: "Transfers in flight at most (a local sink answers in well under a millisecond; 512 is plenty).")
    var maxInFlight: Int = 512

    @Option(
        name: .long, help: "Base URL of an external sink (e.g. http://127.0.0.1:9199); default: a sink in this process."
    )
    var sinkURL: String?

    func run() async throws {
        var sink: SlackSink?
        let base: String
        if let sinkURL {
            base = sinkURL
        } else {
            let s = SlackSink(recordRequests: false, recordBodies: false)
            let port = try await s.start()
            sink = s
            base = "http://127.0.0.1:\(port)"
        }
        let limit = RateLimit(perSecond: rate, burst: burst)
        var list: [Destination] = []
        list.reserveCapacity(destinations)
        for i in 0..<destinations {
            list.append(
                try Destination(
                    name: "d\(i)", url: "\(base)/services/TBENCH/B\(i)/bench-token-\(i)", allowInsecureHTTP: true,
                    rateLimit: limit))
        }
        let starts = SlackBenchStartLog(destinations: destinations)
        var settings = EngineSettings()
        settings.onTransferStart = { i, t in starts.record(i, t) }
        settings.maxInFlight = maxInFlight
        settings.maxQueuedPerDestination = max(depth * 2, 8)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let deliverer = try SlackDeliverer(destinations: list, settings: settings, logger: logger)

        let now = SendTestCommand.now()
        let types: [AlertType] = [.customerAtRisk, .healthScoreDrop, .billingRetryFailed, .expansionSignal, .recovered]
        let templates = types.map { SampleAlerts.make($0, severity: .high, destination: "d0", now: now) }
        let counters = SlackBenchCounters(destinations: destinations)
        let names = (0..<destinations).map { "d\($0)" }
        let endAt = DispatchTime.now().uptimeNanoseconds + UInt64(warmup + seconds) * 1_000_000_000

        @Sendable func send(_ i: Int) {
            var alert = templates[counters.next(i) % templates.count]
            alert.destination = names[i]
            alert.alertId = "bench-\(i)-\(counters.sent(i))"
            deliverer.submit(alert, to: names[i]) { outcome in
                counters.record(outcome)
                if DispatchTime.now().uptimeNanoseconds < endAt { send(i) } else { counters.finishOne() }
            }
        }

        print(
            "bench slack: \(destinations) destinations at \(limit), \(depth) queued each, sink \(sinkURL == nil ? "in-process (own NIO event loop)" : "external \(sinkURL!)"), warm-up \(warmup)s, measured \(seconds)s"
        )
        let outstanding = destinations * depth
        counters.setOutstanding(outstanding)
        for _ in 0..<depth { for i in 0..<destinations { send(i) } }

        try await Task.sleep(for: .seconds(warmup))
        let (d0, _) = counters.snapshot()
        let cpu0 = Self.cpuSeconds()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var lastCount = d0
        var perSecond: [Int] = []
        for _ in 0..<seconds {
            try await Task.sleep(for: .seconds(1))
            let (d, _) = counters.snapshot()
            perSecond.append(d - lastCount)
            lastCount = d
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let cpu1 = Self.cpuSeconds()
        let (d1, other) = counters.snapshot()
        let delivered = d1 - d0
        let elapsed = Double(t1 - t0) / 1e9
        await counters.waitDrained()
        await deliverer.shutdown()

        let rateAchieved = Double(delivered) / elapsed
        let cpuPer = (cpu1 - cpu0) / Double(max(delivered, 1)) * 1e6
        print(
            String(
                format: "delivered: %d in %.1f s = %.0f deliveries/s (ceiling %.0f/s = destinations x rate)", delivered,
                elapsed, rateAchieved, Double(destinations) * rate))
        print("timeline (deliveries per second): \(perSecond.map(String.init).joined(separator: " "))")
        print(
            String(
                format: "per second: min %d, median %d, max %d", perSecond.min() ?? 0,
                perSecond.sorted()[perSecond.count / 2], perSecond.max() ?? 0))
        print(
            String(
                format: "CPU: %.1f s user+sys over the window = %.1f us per delivery (%.0f%% of one core)%@",
                cpu1 - cpu0, cpuPer, (cpu1 - cpu0) / elapsed * 100,
                sinkURL == nil ? ", sink included" : ", sink not included"))
        print(
            "other outcomes: \(other.isEmpty ? "none" : other.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "))"
        )
        let senderViolations = starts.violations(perSecond: rate, burst: burst)
        print(
            "rate audit at the sender (request start times, exact): \(starts.total) requests on \(destinations) destinations, \(senderViolations) over the limit"
        )
        if let sink {
            // Arrival times carry network and scheduling jitter on top of the sender's exact spacing,
            // so the audit is shown at several tolerances.
            for tolerance in [20.0, 50, 100, 250] {
                let audit = sink.audit(perSecond: rate, burst: burst, toleranceMilliseconds: tolerance)
                print("rate audit at the sink (arrival times, \(Int(tolerance)) ms tolerance): \(audit)")
            }
            print("connections: \(sink.connectionCount)")
            await sink.stop()
        } else {
            print("rate audit: see the external sink's report (--report-every / final line)")
        }
    }

    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(
            u.ru_stime.tv_usec) / 1e6
    }
}

/// Counters of the benchmark, touched from the engine thread (completions) and read by the main task.
final class SlackBenchCounters: Sendable {
    private struct State {
        var delivered = 0
        var other: [String: Int] = [:]
        var perDestination: [Int]
        var outstanding = 0
        var drained: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(destinations: Int) { state = Mutex(State(perDestination: [Int](repeating: 0, count: destinations))) }

    func next(_ i: Int) -> Int {
        state.withLock { s in
            s.perDestination[i] += 1
            return s.perDestination[i]
        }
    }

    func sent(_ i: Int) -> Int { state.withLock { $0.perDestination[i] } }

    func record(_ o: DeliveryOutcome) {
        state.withLock { s in
            if o.isDelivered { s.delivered += 1 } else { s.other[o.code, default: 0] += 1 }
        }
    }

    func setOutstanding(_ n: Int) { state.withLock { $0.outstanding = n } }

    func finishOne() {
        let c: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.outstanding -= 1
            guard s.outstanding == 0 else { return nil }
            defer { s.drained = nil }
            return s.drained
        }
        c?.resume()
    }

    func snapshot() -> (Int, [String: Int]) { state.withLock { ($0.delivered, $0.other) } }

    /// Returns once every feeder chain has stopped (each ends within the total timeout).
    func waitDrained() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.outstanding <= 0 { return true }
                s.drained = c
                return false
            }
            if done { c.resume() }
        }
    }
}

/// Start times of every request per destination, recorded on the engine thread.
final class SlackBenchStartLog: Sendable {
    private let times: Mutex<[[UInt64]]>

    init(destinations: Int) { times = Mutex([[UInt64]](repeating: [], count: destinations)) }

    /// Requests recorded so far.
    var total: Int { times.withLock { $0.reduce(0) { $0 + $1.count } } }

    /// Engine thread.
    func record(_ i: Int, _ t: UInt64) { times.withLock { $0[i].append(t) } }

    /// Read after the deliverer has shut down.
    func violations(perSecond: Double, burst: Int) -> Int {
        times.withLock { times in
            times.reduce(0) {
                $0 + RateAudit.violations(arrivals: $1, perSecond: perSecond, burst: burst, toleranceNanos: 1_000)
            }
        }
    }
}
