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
/// reaches the changelog.
///
/// Only the worker thread touches it.
public final class PartitionState<Value: StateValue> {
    public let partition: Int32
    public private(set) var values: [String: Value]
    private(set) var dirty: Set<String> = []

    init(partition: Int32, values: [String: Value] = [:]) {
        self.partition = partition
        self.values = values
    }

    /// The value of `key`; setting it (nil deletes) marks it for the next changelog flush.
    public subscript(key: String) -> Value? {
        get { values[key] }
        set {
            values[key] = newValue
            dirty.insert(key)
        }
    }

    /// Every key held by this partition.
    public var keys: Dictionary<String, Value>.Keys { values.keys }
    public var count: Int { values.count }
    var hasChanges: Bool { !dirty.isEmpty }

    /// The changed entries since the last call (nil = deleted), in key order for determinism.
    func takeChanges() -> [(String, [UInt8]?)] {
        defer { dirty.removeAll(keepingCapacity: true) }
        return dirty.sorted().map { ($0, values[$0]?.stateBytes) }
    }
}

/// The state of a stateless processor (give its worker no changelog topic).
public struct NoState: StateValue {
    public init(stateBytes: [UInt8]) throws(Rejection) {}
    public var stateBytes: [UInt8] { [] }
}
