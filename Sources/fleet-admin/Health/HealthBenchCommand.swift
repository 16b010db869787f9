import ArgumentParser
import Contracts
import Foundation
import HealthModel
import WorkerRuntime

/// `fleet-admin bench health`: parse, update and score throughput, and state size per account.
struct HealthBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Benchmark the health model: parsers, events/s of parse + update + score, bytes per account.",
        discussion: "Build with -c release and pin to one core: taskset -c 0 fleet-admin bench health"
    )

    @Option(help: "Events for the throughput run.") var events = 1_000_000
    @Option(help: "Accounts for the throughput run.") var accounts = 10_000
    @Option(help: "Lines for the parser comparison.") var parseLines = 200_000
    @Option(help: "Accounts held in memory for the size run.") var stateAccounts = 100_000
    @Option(help: "Accounts of the typical-size sample (full activity, 60 days).") var sizeAccounts = 500

    @Option(help: "Run only one part: parsers, throughput or sizes.") var only: String?

    func run() throws {
        print("health bench (one process; pin with taskset -c 0)")
        if only == nil || only == "parsers" { try parsers() }
        if only == nil || only == "throughput" || only == "sizes" {
            let replayed = throughput(json: only != "sizes")
            if only == nil || only == "sizes" { sizes(replayed) }
        }
    }

    // MARK: Parsers

    private func parsers() throws {
        let gen = SampleGenerator(options: .init(seed: 7, accounts: 500, days: 40))
        var lines: [[UInt8]] = []
        var day = 0
        while lines.count < parseLines {
            lines.append(contentsOf: gen.lines(forDay: day % 40))
            day += 1
        }
        lines.removeLast(lines.count - parseLines)
        let datas = lines.map { Data($0) }
        let bytes = lines.reduce(0) { $0 + $1.count }
        print("parsers: \(lines.count) sample lines, \(bytes / lines.count) bytes average")
        let parser = EventParser()
        var checksum = 0
        let hand = measure {
            for line in lines { if let e = try? parser.parse(line) { checksum &+= e.eventId.utf8.count } }
        }.cpu
        let serialization = measure {
            for data in datas {
                if let e = HealthBenchFoundationParsers.serialization(data) { checksum &+= e.eventId.utf8.count }
            }
        }.cpu
        let decoder = JSONDecoder()
        let decodable = measure {
            for data in datas {
                if let e = HealthBenchFoundationParsers.decodable(data, decoder) { checksum &+= e.eventId.utf8.count }
            }
        }.cpu
        for (name, seconds) in [
            ("EventParser (byte scanner)", hand), ("JSONSerialization", serialization),
            ("JSONDecoder (Codable)", decodable),
        ] {
            print(
                String(
                    format: "  %@ %10.0f events/s  %7.0f ns/event (CPU time)",
                    (name as NSString).padding(toLength: 28, withPad: " ", startingAt: 0),
                    Double(lines.count) / seconds, seconds * 1e9 / Double(lines.count)))
        }
        print("  (checksum \(checksum))")
    }

    // MARK: Throughput

    private func throughput(json: Bool) -> Replay {
        // Small accounts so that 1M events span several weeks (baselines are in play), not one day.
        let perAccountDay = 1.0 + Double(events) / Double(max(accounts, 1)) / 60
        let activity = min(1, perAccountDay / 45)
        let gen = SampleGenerator(options: .init(seed: 11, accounts: accounts, days: 400, activity: activity))
        var buffer = [UInt8]()
        var ends: [Int] = []
        var day = 0
        while ends.count < events && day < 400 {
            for line in gen.lines(forDay: day) {
                buffer.append(contentsOf: line)
                ends.append(buffer.count)
                if ends.count == events { break }
            }
            day += 1
        }
        print(
            "throughput: \(ends.count) events, \(accounts) accounts, \(day) days, \(buffer.count / max(ends.count, 1)) bytes/event"
        )
        var replay = Replay()
        var records = 0
        var encodedBytes = 0
        let (seconds, cpu) = measure {
            buffer.withUnsafeBufferPointer { b in
                var start = 0
                for end in ends {
                    replay.process(line: UnsafeBufferPointer(rebasing: b[start..<end])) { _ in records += 1 }
                    start = end
                }
            }
        }
        let s = replay.summary
        print(
            String(
                format:
                    "  parse + update + score: %.0f events/s per CPU second (%.2f s CPU, %.2f s wall, %.0f events/s wall), %d records, %d rejected, %d duplicates",
                Double(ends.count) / cpu, cpu, seconds, Double(ends.count) / seconds, records, s.rejectedTotal,
                s.duplicates))
        guard json else { return replay }
        // The same again with every record written as a JSON line (RecordCoding), as replay does.
        var again = Replay()
        let encoder = RecordCoding.makeEncoder()
        let (withJSON, withJSONCPU) = measure {
            buffer.withUnsafeBufferPointer { b in
                var start = 0
                for end in ends {
                    again.process(line: UnsafeBufferPointer(rebasing: b[start..<end])) { record in
                        encodedBytes += (try? encoder.encode(record).count) ?? 0
                    }
                    start = end
                }
            }
        }
        print(
            String(
                format:
                    "  ... and records encoded as JSON (RecordCoding): %.0f events/s per CPU second (%.2f s CPU, %.2f s wall), %d record bytes",
                Double(ends.count) / withJSONCPU, withJSONCPU, withJSON, encodedBytes))
        // And with ScoreRecordWriter (the same bytes), as replay does.
        var third = Replay()
        var line = [UInt8]()
        var writerBytes = 0
        let (writerWall, writerCPU) = measure {
            buffer.withUnsafeBufferPointer { b in
                var start = 0
                for end in ends {
                    third.process(line: UnsafeBufferPointer(rebasing: b[start..<end])) { record in
                        line.removeAll(keepingCapacity: true)
                        try? ScoreRecordWriter.appendLine(record, to: &line)
                        writerBytes += line.count - 1
                    }
                    start = end
                }
            }
        }
        print(
            String(
                format:
                    "  ... and records written by ScoreRecordWriter: %.0f events/s per CPU second (%.2f s CPU, %.2f s wall), %d record bytes",
                Double(ends.count) / writerCPU, writerCPU, writerWall, writerBytes))
        return replay
    }

    // MARK: Sizes

    private func sizes(_ replayed: Replay) {
        func report(_ label: String, _ sizes: [Int]) {
            let sorted = sizes.sorted()
            guard !sorted.isEmpty else { return }
            let mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
            print(
                "  \(label): mean \(Int(mean)) B, median \(sorted[sorted.count / 2]) B, p95 \(sorted[sorted.count * 95 / 100]) B, max \(sorted.last!) B"
            )
        }
        print("state size (encoded):")
        let benchStates = replayed.accountIds.compactMap { replayed.state(of: $0) }
        report("throughput run accounts (\(benchStates.count))", benchStates.map { $0.encode().count })
        let gen = SampleGenerator(options: .init(seed: 42, accounts: sizeAccounts, days: 60))
        var typical = Replay()
        for day in 0..<60 {
            for line in gen.lines(forDay: day) { line.withUnsafeBufferPointer { typical.process(line: $0) { _ in } } }
        }
        let typicalStates = typical.accountIds.compactMap { typical.state(of: $0) }
        let typicalEncoded = typicalStates.map { $0.encode() }
        report(
            "typical sample, 60 days of full activity (\(typicalStates.count) accounts, \(typical.summary.events) events)",
            typicalEncoded.map(\.count))
        // Resident memory: decode `stateAccounts` independent states (each decode allocates its own storage).
        let before = residentBytes()
        var held: [AccountState] = []
        held.reserveCapacity(stateAccounts)
        var encodedTotal = 0
        for k in 0..<stateAccounts {
            let bytes = typicalEncoded[k % typicalEncoded.count]
            encodedTotal += bytes.count
            if let s = try? AccountState(decoding: bytes) { held.append(s) }
        }
        let after = residentBytes()
        print(
            "  inline size of AccountState: \(MemoryLayout<AccountState>.stride) B (plus its arrays and strings on the heap)"
        )
        print(
            "resident memory at \(held.count) accounts: \((after - before) / max(held.count, 1)) B/account (RSS +\((after - before) >> 20) MiB), encoded \(encodedTotal / max(held.count, 1)) B/account"
        )
        withExtendedLifetime(held) {}
        held = []
        #if os(Linux)
            _ = glibcMallocTrim(0)  // hand the freed states back, so the next figure starts from what is in use
        #endif
        // As a scorer holds them: in one partition's store, keyed by account id.
        let beforeStore = residentBytes()
        let store = PartitionState<AccountState>(partition: 0)
        for k in 0..<stateAccounts {
            if let s = try? AccountState(decoding: typicalEncoded[k % typicalEncoded.count]) {
                store["acct-\(k)"] = s
            }
        }
        let afterStore = residentBytes()
        print(
            "resident memory at \(store.count) accounts keyed by id in a partition's store (PartitionState): \((afterStore - beforeStore) / max(store.count, 1)) B/account (RSS +\((afterStore - beforeStore) >> 20) MiB)"
        )
        withExtendedLifetime(store) {}
        #if os(Linux)
            _ = glibcMallocTrim(0)
        #endif
        // As the store held them before 2026-12-06: a dictionary of values, and a dictionary of the
        // input offsets each reflects per key.
        let beforeDictionary = residentBytes()
        var dictionary: [String: AccountState] = [:]
        var offsets: [String: [UInt8: Int64]] = [:]
        for k in 0..<stateAccounts {
            if let s = try? AccountState(decoding: typicalEncoded[k % typicalEncoded.count]) {
                dictionary["acct-\(k)"] = s
                offsets["acct-\(k)", default: [:]][0] = Int64(k)
            }
        }
        let afterDictionary = residentBytes()
        print(
            "resident memory at \(dictionary.count) accounts keyed by id in a dictionary of values and one of offsets per key (the store before 2026-12-06): \((afterDictionary - beforeDictionary) / max(dictionary.count, 1)) B/account (RSS +\((afterDictionary - beforeDictionary) >> 20) MiB)"
        )
        withExtendedLifetime((dictionary, offsets)) {}
    }

    private func residentBytes() -> Int { ResidentMemory.bytes }

    /// Runs `body`; returns its wall time and its CPU time on this thread (the machine is shared, so
    /// wall time includes time spent descheduled; CPU time is the figure of one core's work).
    private func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        let clock = ContinuousClock()
        let cpuStart = threadCPUSeconds()
        let start = clock.now
        body()
        let d = clock.now - start
        return (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18, threadCPUSeconds() - cpuStart)
    }

    private func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Foundation-based parsers of the same contract, for comparison only.
enum HealthBenchFoundationParsers {
    static func serialization(_ data: Data) -> AccountEvent? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let eventId = object["event_id"] as? String, let accountId = object["account_id"] as? String,
            let type = object["type"] as? String, let occurred = object["occurred_at"] as? String,
            let at = Timestamp(rfc3339: occurred)
        else { return nil }
        let p = object["properties"] as? [String: Any] ?? [:]
        var props = EventProperties()
        props.feature = p["feature"] as? String
        props.minutes = (p["minutes"] as? NSNumber)?.doubleValue
        props.count = (p["count"] as? NSNumber)?.intValue
        props.errors = (p["errors"] as? NSNumber)?.intValue
        props.score = (p["score"] as? NSNumber)?.intValue
        props.ticketId = p["ticket_id"] as? String
        props.sentiment = (p["sentiment"] as? NSNumber)?.doubleValue
        props.paymentId = p["payment_id"] as? String
        props.seats = (p["seats"] as? NSNumber)?.intValue
        props.name = p["name"] as? String
        return AccountEvent(
            eventId: eventId, accountId: accountId, type: EventType(name: type), typeName: type,
            occurredAt: at, userId: object["user_id"] as? String, properties: props)
    }

    struct Wire: Decodable {
        var eventId: String
        var accountId: String
        var type: String
        var occurredAt: String
        var userId: String?
        var properties: Props?

        enum CodingKeys: String, CodingKey {
            case eventId = "event_id"
            case accountId = "account_id"
            case type
            case occurredAt = "occurred_at"
            case userId = "user_id"
            case properties
        }
    }

    struct Props: Decodable {
        var feature: String?
        var minutes: Double?
        var count: Int?
        var errors: Int?
        var score: Int?
        var ticketId: String?
        var sentiment: Double?
        var paymentId: String?
        var seats: Int?
        var name: String?

        enum CodingKeys: String, CodingKey {
            case feature, minutes, count, errors, score, sentiment, seats, name
            case ticketId = "ticket_id"
            case paymentId = "payment_id"
        }
    }

    static func decodable(_ data: Data, _ decoder: JSONDecoder) -> AccountEvent? {
        guard let w = try? decoder.decode(Wire.self, from: data), let at = Timestamp(rfc3339: w.occurredAt) else {
            return nil
        }
        let p = w.properties
        let props = EventProperties(
            feature: p?.feature, minutes: p?.minutes, count: p?.count, errors: p?.errors, score: p?.score,
            ticketId: p?.ticketId, sentiment: p?.sentiment, paymentId: p?.paymentId, seats: p?.seats, name: p?.name)
        return AccountEvent(
            eventId: w.eventId, accountId: w.accountId, type: EventType(name: w.type), typeName: w.type,
            occurredAt: at, userId: w.userId, properties: props)
    }
}

#if os(Linux)
    /// glibc's `malloc_trim` (in `<malloc.h>`, which the Glibc module leaves out): returns freed
    /// memory to the system, so a resident-memory figure after a free starts from what is in use.
    @_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
