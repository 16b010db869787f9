import BlockingWork
import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// State a librdkafka handle reaches through its opaque pointer from C callbacks: the logger,
/// the first fatal error, and (for consumers) the rebalance handler.
// @unchecked: `consumer` is a weak reference set once before the handle polls; the rest is immutable or a Mutex.
final class ClientContext: @unchecked Sendable {
    let logger: Logger
    let name: String
    private let fatal = Mutex<KafkaError?>(nil)
    /// Set by `KafkaConsumer`; read on the consumer's poll thread during rebalances.
    nonisolated(unsafe) weak var consumer: KafkaConsumer?

    init(name: String, logger: Logger) {
        self.name = name
        self.logger = logger
    }

    var fatalError: KafkaError? { fatal.withLock { $0 } }

    func recordFatal(_ error: KafkaError) {
        fatal.withLock { if $0 == nil { $0 = error } }
    }

    /// Installs the error and log callbacks and the opaque pointer on `conf`.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
    }

    /// Creates a librdkafka client with a new context's callbacks installed. `prepare` adds the
    /// client kind's own callbacks to the configuration before the client takes it.
    static func makeClient(
        _ type: rd_kafka_type_t, configuration: KafkaConfiguration, name: String, logger: Logger,
        prepare: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> (handle: OpaquePointer, context: ClientContext) {
        let conf = try configuration.makeNativeConfiguration()
        let context = ClientContext(name: name, logger: logger)
        context.install(on: conf)
        prepare(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)  // on failure the configuration is still ours
            throw KafkaError(kind: .configuration, message: errorText(errstr))
        }
        return (rk, context)
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientContext? {
        opaque.map { Unmanaged<ClientContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

private func kafkaErrorCallback(
    _ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let context = ClientContext.from(opaque) else { return }
    let code = rd_kafka_resp_err_t(rawValue: err)
    let text = reason.map { String(cString: $0) } ?? ""
    if code == RD_KAFKA_RESP_ERR__FATAL, let rk {
        var buffer = [CChar](repeating: 0, count: 512)
        let original = rd_kafka_fatal_error(rk, &buffer, buffer.count)
        let error = KafkaError(code: original, context: errorText(buffer), fatal: true)
        context.recordFatal(error)
        context.logger.critical("kafka fatal error", metadata: ["client": "\(context.name)", "error": "\(error)"])
    } else {
        // Transient: librdkafka retries by itself (broker down, transport). Log, do not fail.
        context.logger.warning(
            "kafka client error",
            metadata: [
                "client": "\(context.name)", "code": "\(String(cString: rd_kafka_err2name(code)))", "reason": "\(text)",
            ])
    }
}

private func kafkaLogCallback(
    _ rk: OpaquePointer?, _ level: Int32, _ fac: UnsafePointer<CChar>?, _ buf: UnsafePointer<CChar>?
) {
    guard let rk, let context = ClientContext.from(rd_kafka_opaque(rk)) else { return }
    let message = buf.map { String(cString: $0) } ?? ""
    let facility = fac.map { String(cString: $0) } ?? ""
    var swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
    // Expected and retried by librdkafka: a commit refused while the group rebalances, and a
    // broker connection failure (reported once more, as a warning, by the error callback).
    if facility == "FAIL" || (facility == "COMMITFAIL" && message.contains("rebalance in progress")) {
        swiftLevel = .debug
    }
    context.logger.log(
        level: swiftLevel, "\(message)", metadata: ["client": "\(context.name)", "facility": "\(facility)"])
}

/// A dedicated thread (a `BlockingThread`) that loops until stopped. Used to serve librdkafka's
/// callbacks.
final class ServiceThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let joined = Atomic<Bool>(false)

    init(name: String, body: @escaping @Sendable (ServiceThread) -> Void) {
        BlockingThread.start(name: name) { [unowned self] in
            body(self)
            self.done.signal()
        }
    }

    var isStopping: Bool { stopped.load(ordering: .acquiring) }

    /// Asks the loop to stop and waits for it. Call from a thread that is not the loop's own.
    /// Later calls return at once.
    func stopAndJoin() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopped.store(true, ordering: .releasing)
        done.wait()
    }
}

/// A librdkafka handle to capture in `@Sendable` closures that must not keep their owner alive.
/// librdkafka handles are thread-safe; the owner guarantees the handle outlives the closure.
// @unchecked: librdkafka handles are thread-safe and the owner keeps the handle alive (see above).
struct NativeHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
