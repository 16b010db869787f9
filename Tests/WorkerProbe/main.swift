// A minimal worker on the runtime, run as its own process by WorkerRuntimeTests.
// It counts records per key in its state store, forwards each record with its count, and rejects
// records whose value is "poison". Its state values are version 1 (a version byte and 8 bytes);
// any other version is refused as a newer version would be. Topics come from PROBE_INPUT, PROBE_OUTPUT, PROBE_CHANGELOG,
// PROBE_DLT; everything else from the runtime's usual environment variables.
import Foundation
import Kafka
import WorkerRuntime

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

final class CountingProcessor: RecordProcessor {
    let output: String
    init(output: String) { self.output = output }

    func process(_ record: ConsumedRecord, context: ProcessingContext<Count>) throws(Rejection) {
        guard let key = record.keyString else { throw Rejection(code: "missing_key", reason: "record has no key") }
        let text = String(decoding: record.value ?? [], as: UTF8.self)
        if text == "poison" { throw Rejection(code: "poison", reason: "value is poison") }
        // An "event-time" header (ms) moves the partition's watermark, as a stage's occurred_at does.
        if let header = record.headers.last(named: "event-time")?.text, let ms = Int64(header) {
            try context.observeEventTime(ms)
        }
        let count = (context.state[key]?.value ?? 0) + 1
        context.state[key] = Count(value: count)
        context.emit(
            OutgoingRecord(
                topic: output, key: record.key, value: Array("\(text)#\(count)".utf8), headers: record.headers))
    }
}

let env = ProcessInfo.processInfo.environment
let settings: WorkerSettings
do {
    settings = try WorkerSettings.fromEnvironment(stage: "probe", env)
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}
let logger = WorkerApp.bootstrap(settings: settings)
// PROBE_FOLLOWERS: co-partitioned inputs (comma-separated) that follow the primary's partitions.
let followers = (env["PROBE_FOLLOWERS"] ?? "").split(separator: ",").map { settings.topic(String($0)) }
let topology = WorkerTopology(
    inputs: [settings.topic(env["PROBE_INPUT"] ?? "probe-in")] + followers,
    changelog: settings.topic(env["PROBE_CHANGELOG"] ?? "probe-state"),
    deadLetter: settings.topic(env["PROBE_DLT"] ?? "probe-in-dlt"),
    outputs: [settings.topic(env["PROBE_OUTPUT"] ?? "probe-out")])
let worker = Worker(
    settings: settings, topology: topology,
    processor: CountingProcessor(output: settings.topic(env["PROBE_OUTPUT"] ?? "probe-out")), logger: logger)
do {
    try await WorkerApp.run(worker, settings: settings, logger: logger)
    exit(0)
} catch {
    logger.error("exiting", metadata: ["error": "\(error)"])
    exit(1)
}
