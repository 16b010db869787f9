import BlockingWork
import CRdKafka
import Foundation
import Logging
import Synchronization

/// What a consumer's owner does when the group moves partitions. Called on the thread that polls
/// the consumer, inside the rebalance: the partitions change hands only after the call returns.
public protocol RebalanceHandler: AnyObject, Sendable {
    /// Partitions of other topics that always go with these (co-partitioned inputs such as
    /// `alerts-retry-1` partition p with `alerts` partition p). The consumer assigns and revokes
    /// them together with the group's partitions, so one member always owns all of them; they
    /// start at the group's committed offsets. Default: none.
    func followers(of partitions: [TopicPartition]) -> [TopicPartition]
    /// When true, newly assigned partitions are paused before any record of theirs is fetched;
    /// the owner resumes them when it is ready (for example after restoring their state outside
    /// the rebalance). Default: false.
    var pausesAssignedPartitions: Bool { get }
    /// Partitions about to be consumed (the group's and their followers). No record of theirs is
    /// delivered before this returns.
    func partitionsAssigned(_ partitions: [TopicPartition], by consumer: KafkaConsumer)
    /// Partitions about to be given up in an orderly way: finish their in-flight work, store and
    /// commit their offsets, drop their state.
    func partitionsRevoked(_ partitions: [TopicPartition], by consumer: KafkaConsumer)
    /// Partitions already taken away (session lost): drop their state, commit nothing.
    func partitionsLost(_ partitions: [TopicPartition], by consumer: KafkaConsumer)
}

extension RebalanceHandler {
    public func followers(of partitions: [TopicPartition]) -> [TopicPartition] { [] }
    public var pausesAssignedPartitions: Bool { false }
}

/// A Kafka consumer, in a consumer group (`subscribe`) or on fixed partitions (`assign`).
///
/// Offsets are stored only when the caller says so (`enable.auto.offset.store=false`): the owner
/// stores a record's offset once everything it caused is acknowledged, and stored offsets are
/// committed every `auto.commit.interval.ms` and on every revoke and close. The default
/// assignment strategy is `cooperative-sticky`.
///
/// `poll` blocks: call it from a thread of your own, never from the cooperative pool.
// @unchecked: the librdkafka handle is thread-safe and every mutable field is an Atomic.
public final class KafkaConsumer: @unchecked Sendable {
    let handle: OpaquePointer
    private let context: ClientContext
    private let closed = Atomic<Bool>(false)
    /// Joined a group by `subscribe`, and whether an assignment ever arrived since.
    private let subscribed = Atomic<Bool>(false)
    private let everAssigned = Atomic<Bool>(false)
    private let rebalanceHandler: (any RebalanceHandler)?
    public let groupId: String?
    /// Topic name of the last record polled, so records of one topic share one String.
    /// Touched only by the polling thread.
    private var lastTopicHandle: OpaquePointer?
    private var lastTopicName: String?

    /// Defaults laid under the user's properties.
    public static let defaults: [String: String] = [
        "enable.auto.offset.store": "false",
        "enable.auto.commit": "true",
        "auto.commit.interval.ms": "1000",
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.partition.eof": "false",
        // An alerting pipeline wants records within milliseconds, not librdkafka's 500 ms
        // long-poll; on the local mock broker a waiting fetch also holds back produce acks.
        "fetch.wait.max.ms": "100",
    ]

    /// - Parameters:
    ///   - configuration: librdkafka properties; `group.id` makes it a group member.
    ///   - rebalanceHandler: hooked into every rebalance of the group; held until the consumer is gone.
    public init(
        configuration: KafkaConfiguration, name: String = "consumer", logger: Logger,
        rebalanceHandler: (any RebalanceHandler)? = nil
    ) throws(KafkaError) {
        var configuration = configuration
        for (key, value) in Self.defaults { configuration.setDefault(key, value) }
        if configuration["group.id"] == nil {
            // librdkafka needs a group id for its consumer even when partitions are assigned by hand;
            // such a consumer never joins the group nor commits.
            configuration["group.id"] = "unused-\(name)"
            configuration["enable.auto.commit"] = "false"
            self.groupId = nil
        } else {
            self.groupId = configuration["group.id"]
        }
        let (rk, context) = try ClientContext.makeClient(
            RD_KAFKA_CONSUMER, configuration: configuration, name: name, logger: logger
        ) {
            if rebalanceHandler != nil { rd_kafka_conf_set_rebalance_cb($0, consumerRebalanceCallback) }
        }
        rd_kafka_poll_set_consumer(rk)
        self.handle = rk
        self.context = context
        self.rebalanceHandler = rebalanceHandler
        context.consumer = self
    }

    deinit {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) {
            rd_kafka_consumer_close(handle)
            destroyHandle()
        }
    }

    /// librdkafka before 2.3 asserts (and aborts the process) when a `cooperative-sticky` member
    /// is destroyed after joining but before its first assignment (librdkafka issue 4312). Such a
    /// handle is left to the process's end instead; every other handle is destroyed.
    private func destroyHandle() {
        if subscribed.load(ordering: .acquiring), !everAssigned.load(ordering: .acquiring),
            rd_kafka_version() < 0x0203_0000
        {
            context.logger.debug(
                "consumer handle kept until exit: it never received an assignment (librdkafka < 2.3)",
                metadata: ["client": "\(context.name)"])
            // Its threads still call back through the opaque pointer: keep what it points to.
            _ = Unmanaged.passRetained(context)
            return
        }
        rd_kafka_destroy(handle)
    }

    /// The first fatal error the client raised, if any.
    public var fatalError: KafkaError? { context.fatalError }

    /// Joins the group on these topics.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = NativePartitionList(capacity: topics.count)
        for topic in topics { rd_kafka_topic_partition_list_add(list.pointer, topic, RD_KAFKA_PARTITION_UA) }
        try KafkaError.check(rd_kafka_subscribe(handle, list.pointer), "subscribe to \(topics.joined(separator: ","))")
        subscribed.store(true, ordering: .releasing)
    }

    /// Leaves the group's subscription (the handler hears of the revoke on the next poll).
    public func unsubscribe() throws(KafkaError) {
        try KafkaError.check(rd_kafka_unsubscribe(handle), "unsubscribe")
    }

    /// Consumes fixed partitions from the given offsets (no group membership). Use
    /// `KafkaOffset.beginning` / `.end` or a concrete offset.
    public func assign(_ partitions: [TopicPartition: Int64]) throws(KafkaError) {
        let list = NativePartitionList(partitions.keys.sorted()) { partitions[$0] }
        try KafkaError.check(rd_kafka_assign(handle, list.pointer), "assign")
    }

    /// Next record, or nil when none arrived within `timeout`. Serves rebalance callbacks.
    /// Blocking: call from a thread of your own.
    public func poll(timeout: Duration) throws(KafkaError) -> ConsumedRecord? {
        if closed.load(ordering: .acquiring) { throw KafkaError.shutdown }
        if let fatal = context.fatalError { throw fatal }
        guard let m = rd_kafka_consumer_poll(handle, Int32(timeout.milliseconds)) else { return nil }
        defer { rd_kafka_message_destroy(m) }
        let err = m.pointee.err
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            let text = m.pointee.payload.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
            let error = KafkaError(code: err, context: text.isEmpty ? "consume" : "consume: \(text)")
            if error.isFatal { context.recordFatal(error) }
            context.logger.warning("consumer error", metadata: ["client": "\(context.name)", "error": "\(error)"])
            if error.isFatal || err == RD_KAFKA_RESP_ERR__AUTHENTICATION { throw error }
            return nil
        }
        return ConsumedRecord(copying: m) { rkt in
            if let rkt, rkt == lastTopicHandle, let name = lastTopicName { return name }
            let name = String(cString: rd_kafka_topic_name(rkt))
            lastTopicHandle = rkt
            lastTopicName = name
            return name
        }
    }

    /// Up to `max` records: waits up to `timeout` for the first, then takes what is already fetched.
    public func poll(max: Int, timeout: Duration) throws(KafkaError) -> [ConsumedRecord] {
        var batch: [ConsumedRecord] = []
        guard let first = try poll(timeout: timeout) else { return batch }
        batch.reserveCapacity(max)
        batch.append(first)
        while batch.count < max, let next = try poll(timeout: .zero) { batch.append(next) }
        return batch
    }

    /// Async convenience for tests and tools: polls on a thread that is not the cooperative pool.
    public func next(timeout: Duration) async throws(KafkaError) -> ConsumedRecord? {
        try await BlockingThread.run { [self] () throws(KafkaError) in try self.poll(timeout: timeout) }
    }

    /// Marks records as done: `offsets` are the NEXT offsets to consume (last processed + 1).
    /// They are committed with the next commit.
    public func storeOffsets(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = NativePartitionList(offsets.keys.sorted()) { offsets[$0] }
        try KafkaError.check(rd_kafka_offsets_store(handle, list.pointer), "store offsets")
        for (tp, _, err) in list.entries where err != RD_KAFKA_RESP_ERR_NO_ERROR {
            // A partition no longer assigned: its offset belongs to its new owner now.
            context.logger.debug(
                "offset not stored",
                metadata: ["partition": "\(tp)", "code": "\(String(cString: rd_kafka_err2name(err)))"])
        }
    }

    /// Commits `offsets` (next offsets to consume), or every stored offset when nil, and waits for
    /// the broker. Blocking.
    public func commit(_ offsets: [TopicPartition: Int64]? = nil) throws(KafkaError) {
        let code: rd_kafka_resp_err_t
        if let offsets {
            guard !offsets.isEmpty else { return }
            let list = NativePartitionList(offsets.keys.sorted()) { offsets[$0] }
            code = rd_kafka_commit(handle, list.pointer, 0)
        } else {
            code = rd_kafka_commit(handle, nil, 0)
        }
        if code == RD_KAFKA_RESP_ERR__NO_OFFSET { return }  // nothing new to commit
        try KafkaError.check(code, "commit")
    }

    /// Stops fetching these partitions without leaving the group.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_pause_partitions(handle, list.pointer), "pause")
    }

    /// Resumes fetching paused partitions from where they stopped.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_resume_partitions(handle, list.pointer), "resume")
    }

    /// Moves the fetch position of an assigned partition (for example back to a retry record),
    /// waiting up to `timeout` for the fetcher to take it.
    public func seek(_ partition: TopicPartition, to offset: Int64, timeout: Duration = .seconds(5)) throws(KafkaError)
    {
        let list = NativePartitionList([partition]) { _ in offset }
        let wait = Self.seekTimeoutArgument(timeout, libraryVersion: rd_kafka_version())
        if let error = rd_kafka_seek_partitions(handle, list.pointer, wait) {
            throw KafkaError(consuming: error, context: "seek \(partition)")
        }
    }

    /// The `timeout_ms` to pass to `rd_kafka_seek_partitions` for `timeout`. librdkafka before 2.0.3
    /// waits a thousand times less than asked (it reads the milliseconds as microseconds, librdkafka
    /// PR 4230): a 5 s seek gave up after 5 ms, and a busy consumer (a restore finishing while the
    /// machine is loaded) failed its seek back and stopped. Such versions get the value scaled up.
    static func seekTimeoutArgument(_ timeout: Duration, libraryVersion: Int32) -> Int32 {
        let milliseconds = Int64(max(timeout.milliseconds, 0))
        let scaled = libraryVersion < 0x0200_0300 ? milliseconds * 1000 : milliseconds
        return Int32(min(scaled, Int64(Int32.max)))
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try KafkaError.check(rd_kafka_assignment(handle, &list), "assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return NativePartitionList.entries(of: list).map(\.0).sorted()
    }

    /// The consumer's fetch positions (next offset to fetch), nil where unknown.
    public func positions(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartition: Int64?] {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_position(handle, list.pointer), "position")
        return Dictionary(uniqueKeysWithValues: list.entries.map { ($0.0, $0.1 >= 0 ? Optional($0.1) : nil) })
    }

    /// The group's committed offsets, nil where none. Blocking (asks the coordinator).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError)
        -> [TopicPartition: Int64?]
    {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_committed(handle, list.pointer, Int32(timeout.milliseconds)), "committed")
        return Dictionary(uniqueKeysWithValues: list.entries.map { ($0.0, $0.1 >= 0 ? Optional($0.1) : nil) })
    }

    /// Low and high watermarks from the broker. Blocking.
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> (
        low: Int64, high: Int64
    ) {
        var low: Int64 = 0
        var high: Int64 = 0
        try KafkaError.check(
            rd_kafka_query_watermark_offsets(
                handle, partition.topic, partition.partition, &low, &high, Int32(timeout.milliseconds)),
            "watermarks \(partition)")
        return (low, high)
    }

    /// How many partitions `topic` has, from the broker's metadata; nil when the cluster does not
    /// know the topic. Blocking.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> Int? {
        guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(kind: .configuration, message: "topic handle for \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var md: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(rd_kafka_metadata(handle, 0, rkt, &md, Int32(timeout.milliseconds)), "metadata \(topic)")
        guard let md else { return nil }
        defer { rd_kafka_metadata_destroy(md) }
        for i in 0..<Int(md.pointee.topic_cnt) {
            let t = md.pointee.topics[i]
            if String(cString: t.topic) == topic, t.err == RD_KAFKA_RESP_ERR_NO_ERROR, t.partition_cnt > 0 {
                return Int(t.partition_cnt)
            }
        }
        return nil
    }

    /// Watermarks as last seen by the fetcher, without a network call; nil until the first fetch.
    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        guard
            rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                == RD_KAFKA_RESP_ERR_NO_ERROR,
            high >= 0
        else { return nil }
        return (low, high)
    }

    /// Lag of the group on each partition: high watermark minus committed offset. Blocking.
    public func lag(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError)
        -> [PartitionLag]
    {
        let committed = try committed(partitions, timeout: timeout)
        let positions = try positions(partitions)
        return try partitions.map { tp throws(KafkaError) in
            let (low, high) = try watermarks(tp, timeout: timeout)
            return PartitionLag(
                topicPartition: tp, low: low, high: high, committed: committed[tp] ?? nil,
                position: positions[tp] ?? nil)
        }
    }

    /// Leaves the group (the final revoke runs the handler, which commits) and destroys the handle.
    /// Blocking; call from the thread that polls, or after polling stopped.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let code = rd_kafka_consumer_close(handle)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("consumer close", metadata: ["error": "\(KafkaError(code: code, context: "close"))"])
        }
        destroyHandle()
    }

    fileprivate func handleRebalance(
        _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let given = NativePartitionList.entries(of: list).map(\.0)
        // The group's partitions plus the followers that always go with them.
        let extra = rebalanceHandler?.followers(of: given) ?? []
        let partitions = Array(Set(given + extra)).sorted()
        let all = NativePartitionList(partitions)  // offsets INVALID: start at the committed offset
        let cooperative = usesCooperativeRebalancing(handle)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            everAssigned.store(true, ordering: .releasing)
            context.logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
            rebalanceHandler?.partitionsAssigned(partitions, by: self)
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, all.pointer) {
                    let e = KafkaError(consuming: error, context: "incremental assign")
                    context.logger.error("assign failed", metadata: ["error": "\(e)"])
                }
            } else {
                rd_kafka_assign(handle, all.pointer)
            }
            if rebalanceHandler?.pausesAssignedPartitions == true {
                // Paused before the first fetch: the owner resumes them when it is ready.
                let code = rd_kafka_pause_partitions(handle, all.pointer)
                if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    context.logger.error(
                        "pause of assigned partitions failed",
                        metadata: ["error": "\(KafkaError(code: code, context: "pause"))"])
                }
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            context.logger.info(
                lost ? "partitions lost" : "partitions revoked", metadata: ["partitions": "\(partitions)"])
            if lost {
                rebalanceHandler?.partitionsLost(partitions, by: self)
            } else {
                rebalanceHandler?.partitionsRevoked(partitions, by: self)
            }
            // A partition given up keeps no pause of ours: whoever gets it back starts clean.
            rd_kafka_resume_partitions(handle, all.pointer)
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, all.pointer) {
                    let e = KafkaError(consuming: error, context: "incremental unassign")
                    context.logger.error("unassign failed", metadata: ["error": "\(e)"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
        default:
            context.logger.error(
                "rebalance error", metadata: ["error": "\(KafkaError(code: err, context: "rebalance"))"])
            rd_kafka_assign(handle, nil)
        }
    }
}

/// Special offsets for `KafkaConsumer.assign`.
public enum KafkaOffset {
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    public static let end = Int64(RD_KAFKA_OFFSET_END)
    public static let stored = Int64(RD_KAFKA_OFFSET_STORED)
}

/// Whether the group's chosen protocol is cooperative. librdkafka returns NULL when it cannot answer: no
/// group handle, or its request to the group thread fails (seen once, under a load average of 28, in the final
/// revoke of a close): treated as eager, the safe assumption when letting go of partitions.
private func usesCooperativeRebalancing(_ handle: OpaquePointer) -> Bool {
    let name: UnsafePointer<CChar>? = rd_kafka_rebalance_protocol(handle)
    return name.map { String(cString: $0) } == "COOPERATIVE"
}

private func consumerRebalanceCallback(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let list, let consumer = ClientContext.from(opaque)?.consumer else {
        // The owner is gone (closing from deinit): let go of the partitions without a handler.
        guard let rk, let list else { return }
        if usesCooperativeRebalancing(rk) {
            let error =
                err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
                ? rd_kafka_incremental_assign(rk, list) : rd_kafka_incremental_unassign(rk, list)
            if let error { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? list : nil)
        }
        return
    }
    consumer.handleRebalance(err, list)
}

extension Duration {
    /// Whole milliseconds, saturating at Int32 range for C timeouts.
    var milliseconds: Int {
        let (s, atto) = components
        let ms = s * 1000 + atto / 1_000_000_000_000_000
        return Int(max(min(ms, Int64(Int32.max)), 0))
    }
}
