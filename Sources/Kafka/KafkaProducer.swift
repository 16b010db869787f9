import BlockingWork
import CRdKafka
import Foundation
import Logging
import Synchronization

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all`) with batching, headers,
/// and delivery reports surfaced as callbacks or async results.
///
/// Delivery reports are served by a dedicated thread, never Swift's cooperative pool. `shutdown()`
/// flushes what is queued, then destroys the handle; records that could not be delivered in time
/// are reported as failed, so no completion is ever lost.
// @unchecked: the librdkafka handle (an OpaquePointer) is thread-safe; every other field is a let of a Sendable type.
public final class KafkaProducer: @unchecked Sendable {
    /// Called once per record with where it landed or why it was not delivered.
    public typealias Completion = @Sendable (Result<DeliveryReport, KafkaError>) -> Void

    let handle: OpaquePointer
    private let context: ClientContext
    private let pollThread: ServiceThread
    private let closed = Atomic<Bool>(false)
    /// Callers inside `enqueue` right now: the handle is destroyed only once this is back to 0.
    private let users = Atomic<Int>(0)
    /// Signalled whenever delivery reports free room in librdkafka's queue.
    private let room = NSCondition()
    /// One thread for records that met a full queue and must not block their caller.
    private let overflow: DispatchQueue

    /// Defaults laid under the user's properties.
    public static let defaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "5",
        "compression.type": "lz4",
        "queue.buffering.max.messages": "500000",
        "message.timeout.ms": "120000",
    ]

    public init(configuration: KafkaConfiguration, name: String = "producer", logger: Logger) throws(KafkaError) {
        var configuration = configuration
        for (key, value) in Self.defaults { configuration.setDefault(key, value) }
        let (rk, context) = try ClientContext.makeClient(
            RD_KAFKA_PRODUCER, configuration: configuration, name: name, logger: logger
        ) {
            rd_kafka_conf_set_dr_msg_cb($0, producerDeliveryCallback)
        }
        self.handle = rk
        self.context = context
        self.overflow = DispatchQueue(label: "kafka-\(name)-overflow")
        self.pollThread = ServiceThread(name: "kafka-\(name)-poll") {
            [handle = NativeHandle(pointer: rk), room] thread in
            while !thread.isStopping {
                if rd_kafka_poll(handle.pointer, 50) > 0 {
                    room.broadcast()
                }
            }
        }
    }

    deinit {
        if !closed.load(ordering: .acquiring) {
            // Not shut down: stop serving callbacks and release everything without flushing.
            pollThread.stopAndJoin()
            rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(handle, 0)
            rd_kafka_destroy(handle)
        }
    }

    /// The first fatal error the client raised, if any (an idempotent producer can be fenced).
    public var fatalError: KafkaError? { context.fatalError }

    /// Number of records queued or in flight.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }

    /// Enqueues a record; `completion` runs on the producer's own thread once the broker
    /// acknowledged it (or it failed for good).
    ///
    /// Blocks the calling thread while librdkafka's local queue is full, so call it from a worker
    /// thread of your own, never from the cooperative pool; use `send(_:) async` there.
    public func send(_ record: OutgoingRecord, completion: @escaping Completion) throws(KafkaError) {
        while true {
            let code = enqueue(record, completion: completion)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw KafkaError(code: code, context: "produce to \(record.topic)")
            }
            if closed.load(ordering: .acquiring) { throw KafkaError.shutdown }
            room.lock()
            _ = room.wait(until: Date(timeIntervalSinceNow: 0.05))
            room.unlock()
        }
    }

    /// Enqueues a record without ever blocking the caller: when librdkafka's queue is full, the
    /// record waits for room on the producer's one overflow thread. `completion` runs exactly once
    /// (with a failure if the producer shut down first). For threads that must not stall, such as
    /// an HTTP client's event loop.
    public func sendWithoutBlocking(_ record: OutgoingRecord, completion: @escaping Completion) {
        let code = enqueue(record, completion: completion)
        if code == RD_KAFKA_RESP_ERR_NO_ERROR { return }
        if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            overflow.async { [self] in
                do throws(KafkaError) {
                    try self.send(record, completion: completion)
                } catch {
                    completion(.failure(error))
                }
            }
        } else {
            completion(.failure(KafkaError(code: code, context: "produce to \(record.topic)")))
        }
    }

    /// Enqueues a record and waits for the broker's acknowledgement.
    public func send(_ record: OutgoingRecord) async throws(KafkaError) -> DeliveryReport {
        let result: Result<DeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            sendWithoutBlocking(record) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Learns the partitions and leaders of `topics` now, so the first record to each is sent at
    /// once instead of waiting for librdkafka's next scan of unknown topics (up to a second).
    /// Blocking; topics that do not exist (yet) are skipped.
    public func warmUp(topics: [String], timeout: Duration = .seconds(5)) {
        for topic in Set(topics) {
            guard let rkt = rd_kafka_topic_new(handle, topic, nil) else { continue }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 0, rkt, &metadata, Int32(timeout.milliseconds))
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            rd_kafka_topic_destroy(rkt)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                context.logger.debug(
                    "no metadata yet",
                    metadata: ["topic": "\(topic)", "code": "\(String(cString: rd_kafka_err2name(code)))"])
            }
        }
    }

    /// Waits until every queued record is acknowledged or `timeout` passes.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let ms = Int32(timeout.milliseconds)
        let code = await BlockingThread.run { [handle = NativeHandle(pointer: handle)] in
            rd_kafka_flush(handle.pointer, ms)
        }
        try KafkaError.check(code, "flush")
    }

    /// Flushes (bounded by `timeout`), fails what is still queued, stops the poll thread and
    /// destroys the handle. Safe to call more than once.
    public func shutdown(timeout: Duration = .seconds(30)) async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let ms = Int32(timeout.milliseconds)
        await BlockingThread.run { [self] in
            self.pollThread.stopAndJoin()
            self.drainAndDestroy(flushMilliseconds: ms)
        }
        context.logger.debug("producer closed", metadata: ["client": "\(context.name)"])
    }

    /// Synchronous variant of `shutdown` for non-async callers on their own thread.
    public func shutdownBlocking(timeout: Duration = .seconds(30)) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let ms = Int32(timeout.milliseconds)
        pollThread.stopAndJoin()
        drainAndDestroy(flushMilliseconds: ms)
    }

    /// Flushes; on timeout fails what is left so every completion runs exactly once; destroys.
    /// `closed` is already set: no new enqueue starts, and the ones under way finish first.
    private func drainAndDestroy(flushMilliseconds ms: Int32) {
        while users.load(ordering: .acquiring) > 0 { sched_yield() }
        room.broadcast()  // wakes senders waiting for room: they see `closed` and fail
        overflow.sync {}  // records waiting for room have failed by now
        if rd_kafka_flush(handle, ms) != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_flush(handle, 1000)  // serves the purge reports
        }
        room.broadcast()
        rd_kafka_destroy(handle)
    }

    /// Hands a record to librdkafka. Returns its error code; on success the completion box is owned
    /// by the message and released by the delivery callback.
    private func enqueue(_ record: OutgoingRecord, completion: @escaping Completion) -> rd_kafka_resp_err_t {
        users.add(1, ordering: .acquiringAndReleasing)
        defer { users.subtract(1, ordering: .acquiringAndReleasing) }
        if closed.load(ordering: .acquiring) { return RD_KAFKA_RESP_ERR__DESTROY }
        let box = Unmanaged.passRetained(DeliveryBox(topic: record.topic, completion)).toOpaque()
        let code = record.topic.withCString { topic in
            withOptionalBytes(record.key) { key in
                withOptionalBytes(record.value) { value in
                    withHeaderFields(record.headers) { headerFields in
                        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6 + headerFields.count) { vus in
                            vus.initialize(repeating: rd_kafka_vu_t())
                            vus[0].vtype = RD_KAFKA_VTYPE_TOPIC
                            vus[0].u.cstr = topic
                            vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                            vus[1].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                            vus[2].vtype = RD_KAFKA_VTYPE_KEY
                            vus[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                            vus[2].u.mem.size = key.count
                            vus[3].vtype = RD_KAFKA_VTYPE_VALUE
                            vus[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                            vus[3].u.mem.size = value.count
                            vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                            vus[4].u.i = RD_KAFKA_MSG_F_COPY
                            var i = 5
                            for field in headerFields {
                                vus[i].vtype = RD_KAFKA_VTYPE_HEADER
                                vus[i].u.header.name = field.name
                                vus[i].u.header.val = field.value
                                vus[i].u.header.size = field.size
                                i += 1
                            }
                            vus[i].vtype = RD_KAFKA_VTYPE_OPAQUE
                            vus[i].u.ptr = box
                            guard let error = rd_kafka_produceva(handle, vus.baseAddress, i + 1) else {
                                return RD_KAFKA_RESP_ERR_NO_ERROR
                            }
                            let code = rd_kafka_error_code(error)
                            rd_kafka_error_destroy(error)
                            return code
                        }
                    }
                }
            }
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            Unmanaged<DeliveryBox>.fromOpaque(box).release()
        }
        return code
    }
}

/// The per-record completion, owned by librdkafka's message until its delivery report.
final class DeliveryBox {
    let topic: String
    let completion: KafkaProducer.Completion
    init(topic: String, _ completion: @escaping KafkaProducer.Completion) {
        self.topic = topic
        self.completion = completion
    }
}

private func producerDeliveryCallback(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let m = message?.pointee, let box = m._private else { return }
    let delivery = Unmanaged<DeliveryBox>.fromOpaque(box).takeRetainedValue()
    if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        delivery.completion(.success(DeliveryReport(topic: delivery.topic, partition: m.partition, offset: m.offset)))
    } else {
        var error = KafkaError(code: m.err, context: "delivery")
        if m.err == RD_KAFKA_RESP_ERR__FATAL, let rk {
            var buffer = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(rk, &buffer, buffer.count)
            error = KafkaError(code: original, context: errorText(buffer), fatal: true)
        }
        delivery.completion(.failure(error))
    }
}

// MARK: - Scoped C views of Swift values

@inline(__always)
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

struct HeaderField {
    var name: UnsafePointer<CChar>
    var value: UnsafeRawPointer?
    var size: Int
}

/// Gives C views of header names and values, valid for the duration of `body`.
func withHeaderFields<R>(_ headers: [KafkaHeader], _ body: ([HeaderField]) -> R) -> R {
    if headers.isEmpty { return body([]) }
    // Copy into one owned buffer so every pointer stays valid across the call.
    var storage: [UnsafeMutableRawPointer] = []
    defer { for buffer in storage { buffer.deallocate() } }
    var fields: [HeaderField] = []
    fields.reserveCapacity(headers.count)
    for header in headers {
        let nameBytes = Array(header.name.utf8) + [0]
        let name = UnsafeMutableRawPointer.allocate(byteCount: nameBytes.count, alignment: 1)
        name.copyMemory(from: nameBytes, byteCount: nameBytes.count)
        storage.append(name)
        var value: UnsafeRawPointer?
        var size = -1
        if let v = header.value {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(v.count, 1), alignment: 1)
            v.withUnsafeBytes { p.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(p), byteCount: v.count) }
            storage.append(p)
            value = UnsafeRawPointer(p)
            size = v.count
        }
        fields.append(
            HeaderField(name: UnsafePointer(name.assumingMemoryBound(to: CChar.self)), value: value, size: size))
    }
    return body(fields)
}
