import Kafka

/// A value kept per key in a worker's state store, with its changelog encoding.
public protocol StateValue: Sendable {
    /// Decodes a changelog value; throw a `Rejection` with the reason if the bytes are not valid.
    init(stateBytes: [UInt8]) throws(Rejection)
    /// The changelog value: compact and versioned.
    var stateBytes: [UInt8] { get }
}

/// Keyed state of one partition, in memory, backed by a compacted changelog topic with the same
/// partitioning as the input. Writes are coalesced: the last value per key per commit interval
/// reaches the changelog, framed with the owner's epoch and the input offset it reflects
/// (`ChangelogEnvelope`).
///
/// Only the worker thread touches it.
public final class PartitionState<Value: StateValue> {
    public let partition: Int32
    /// Every key's value. (Stored as `storage`, which the inlinable subscript writes: the stages'
    /// per-record reads and writes are specialized for their value type, not generic calls.)
    public var values: [String: Value] { storage }
    @usableFromInline var storage: [String: Value]
    @usableFromInline var dirty: Set<String> = []
    /// Per key: the last input offset (per input index) whose effect its value holds.
    @usableFromInline var applied: [String: [UInt8: Int64]]
    /// The record being processed: a write to its own key records its offset.
    @usableFromInline var current: (input: UInt8, offset: Int64, key: String)?
    /// Writes so far (to tell whether a record changed state).
    @usableFromInline var writeCount = 0

    init(partition: Int32, values: [String: Value] = [:], applied: [String: [UInt8: Int64]] = [:]) {
        self.partition = partition
        self.storage = values
        self.applied = applied
    }

    /// The value of `key`; setting it (nil deletes) marks it for the next changelog flush.
    @inlinable public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            storage[key] = newValue
            dirty.insert(key)
            writeCount &+= 1
            if let current, current.key == key { applied[key, default: [:]][current.input] = current.offset }
        }
    }

    /// Replaces the value of `key` in memory only, not marked for the changelog: for a change a
    /// restore may lose without changing any result (a value whose derived parts or clock moved, as
    /// an idle re-scoring that emits nothing does). A later write of the key writes it whole.
    @inlinable public func refresh(_ key: String, _ value: Value) {
        storage[key] = value
    }

    /// Every key held by this partition.
    public var keys: Dictionary<String, Value>.Keys { values.keys }
    public var count: Int { values.count }
    var hasChanges: Bool { !dirty.isEmpty }

    /// Whether the value of `key` already holds the effect of the record at `offset` of input
    /// `input` (read again after a crash): such a record is not applied twice.
    func alreadyApplied(key: String, input: UInt8, offset: Int64) -> Bool {
        guard let last = applied[key]?[input] else { return false }
        return offset <= last
    }

    /// The changed entries since the last call (nil = deleted), in key order for determinism.
    func takeChanges() -> [StateChange<Value>] {
        defer { dirty.removeAll(keepingCapacity: true) }
        return dirty.sorted().map { StateChange(key: $0, value: values[$0], applied: applied[$0] ?? [:]) }
    }
}

/// One key's change, as a flush writes it.
struct StateChange<Value: StateValue> {
    var key: String
    var value: Value?
    var applied: [UInt8: Int64]
}

/// The state of a stateless processor (give its worker no changelog topic).
public struct NoState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {}
    public var stateBytes: [UInt8] { [] }
}
