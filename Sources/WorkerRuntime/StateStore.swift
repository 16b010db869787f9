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
/// Held densely, because a partition may hold a million keys: the entries (key, value and the
/// offsets its value reflects) in one array, and a dictionary from key to position. A dictionary
/// of values would keep up to twice as many buckets as keys, each as wide as a value, and a
/// dictionary of offsets per key would be a heap object per key (`bench health --only sizes`
/// measures the difference). A deleted entry's place is taken by the last one.
///
/// Only the worker thread touches it.
public final class PartitionState<Value: StateValue> {
    public let partition: Int32
    @usableFromInline var store: StateEntries<Value>
    @usableFromInline var dirty: Set<String> = []
    /// Per deleted key whose deletion is not flushed yet: the offsets it reflected.
    @usableFromInline var deletedApplied: [String: AppliedOffsets] = [:]
    /// The record being processed: a write to its own key records its offset.
    @usableFromInline var current: (input: UInt8, offset: Int64, key: String)?
    /// Writes so far (to tell whether a record changed state).
    @usableFromInline var writeCount = 0
    /// The entries' places in key order, and the layout they were sorted at (a key coming or going
    /// moves the places).
    @usableFromInline var keptOrder: (places: [Int32], layout: Int)?

    /// An empty store of `partition`.
    public init(partition: Int32) {
        self.partition = partition
        store = StateEntries()
    }

    /// A store holding what a restore read.
    init(partition: Int32, restored: StateEntries<Value>) {
        self.partition = partition
        store = restored
    }

    /// A store holding `values`, each reflecting the input offsets in `applied`.
    convenience init(partition: Int32, values: [String: Value], applied: [String: [UInt8: Int64]] = [:]) {
        var entries = StateEntries<Value>()
        for (key, value) in values { entries.put(key, value, applied: AppliedOffsets(applied[key] ?? [:])) }
        self.init(partition: partition, restored: entries)
    }

    /// The value of `key`; setting it (nil deletes) marks it for the next changelog flush.
    @inlinable public subscript(key: String) -> Value? {
        get { store[key] }
        set {
            dirty.insert(key)
            writeCount &+= 1
            let offset: (input: UInt8, offset: Int64)? =
                if let current, current.key == key { (current.input, current.offset) } else { nil }
            if let newValue {
                if let k = store.index[key] {
                    store.entries[k].value = newValue
                    if let offset { store.entries[k].applied.set(offset.input, offset.offset) }
                } else {
                    var applied = deletedApplied.removeValue(forKey: key) ?? AppliedOffsets()
                    if let offset { applied.set(offset.input, offset.offset) }
                    store.put(key, newValue, applied: applied)
                }
            } else if var applied = store.remove(key) {
                if let offset { applied.set(offset.input, offset.offset) }
                deletedApplied[key] = applied
            } else if let offset {
                deletedApplied[key, default: AppliedOffsets()].set(offset.input, offset.offset)
            }
        }
    }

    /// Replaces the value of `key` in memory only, not marked for the changelog: for a change a
    /// restore may lose without changing any result (a value whose derived parts or clock moved, as
    /// an idle re-scoring that emits nothing does). A later write of the key writes it whole.
    @inlinable public func refresh(_ key: String, _ value: Value) {
        if let k = store.index[key] {
            store.entries[k].value = value
        } else {
            store.put(key, value, applied: deletedApplied.removeValue(forKey: key) ?? AppliedOffsets())
        }
    }

    /// Changes the value of `key` where it is held, without copying it out and back in (a copy
    /// held while the value changes makes each array of the value copy itself on its first
    /// change), and returns `body`'s result; nil when the key holds no value. Memory only, as
    /// `refresh`: call `markWritten` when the change must reach the changelog.
    @inlinable public func modify<R, E: Error>(_ key: String, _ body: (inout Value) throws(E) -> R) throws(E) -> R? {
        guard let k = store.index[key] else { return nil }
        return try body(&store.entries[k].value)
    }

    /// Marks `key`'s value (changed in place by `modify`) for the next changelog flush, as a write
    /// of the key would (with the current record's offset when it is the record's key).
    @inlinable public func markWritten(_ key: String) {
        guard let k = store.index[key] else { return }
        dirty.insert(key)
        writeCount &+= 1
        if let current, current.key == key { store.entries[k].applied.set(current.input, current.offset) }
    }

    /// Visits every held value in key order, changing it where it is held, and marks for the next
    /// changelog flush those for which `body` returns true (as `markWritten` does). For walks over
    /// every value, many times over (an hourly re-scoring of every account): the keys are sorted
    /// again only when a key came or went since the last walk, and a value is reached by its place,
    /// not by looking its key up (only a marked one is, to record it). `body` must not use this
    /// store (its value is being changed in place).
    @inlinable public func modifyEach<E: Error>(
        inKeyOrder body: (_ key: String, _ value: inout Value) throws(E) -> Bool
    ) throws(E) {
        for place in placesInKeyOrder() {
            let k = Int(place)
            let key = store.entries[k].key
            if try body(key, &store.entries[k].value) { markWritten(key) }
        }
    }

    /// The entries' places sorted by key, kept until a key comes or goes (4 bytes a key).
    @usableFromInline func placesInKeyOrder() -> [Int32] {
        if let keptOrder, keptOrder.layout == store.layout { return keptOrder.places }
        let entries = store.entries
        let places = entries.indices.sorted { entries[$0].key < entries[$1].key }.map { Int32(truncatingIfNeeded: $0) }
        keptOrder = (places, store.layout)
        return places
    }

    /// Every key held by this partition, in no particular order.
    public var keys: Dictionary<String, Int>.Keys { store.index.keys }
    /// Every key with its value, in no particular order.
    public var values: some Sequence<(key: String, value: Value)> { store.entries.lazy.map { ($0.key, $0.value) } }
    public var count: Int { store.count }
    var hasChanges: Bool { !dirty.isEmpty }

    /// Whether the value of `key` already holds the effect of the record at `offset` of input
    /// `input` (read again after a crash): such a record is not applied twice.
    func alreadyApplied(key: String, input: UInt8, offset: Int64) -> Bool {
        let last = store.index[key].map { store.entries[$0].applied[input] } ?? deletedApplied[key]?[input]
        guard let last else { return false }
        return offset <= last
    }

    /// The changed entries since the last call (nil = deleted), in key order for determinism.
    func takeChanges() -> [StateChange<Value>] {
        defer {
            dirty.removeAll(keepingCapacity: true)
            deletedApplied.removeAll()
        }
        return dirty.sorted().map { key in
            if let k = store.index[key] {
                let entry = store.entries[k]
                return StateChange(key: key, value: entry.value, applied: entry.applied.dictionary)
            }
            return StateChange(key: key, value: nil, applied: deletedApplied[key]?.dictionary ?? [:])
        }
    }
}

/// Keyed values held densely: the entries (key, value and the input offsets the value reflects)
/// in one array, and a dictionary from key to position; a removed entry's place is taken by the
/// last one. What a partition's store holds, and what a restore builds (so a restore of a million
/// keys holds them once, not in a dictionary and then again in the store).
@usableFromInline struct StateEntries<Value: StateValue>: Sendable {
    /// One key's entry.
    @usableFromInline struct Entry: Sendable {
        @usableFromInline var key: String
        @usableFromInline var value: Value
        @usableFromInline var applied: AppliedOffsets

        @inlinable init(key: String, value: Value, applied: AppliedOffsets) {
            self.key = key
            self.value = value
            self.applied = applied
        }
    }

    /// The entries, in no particular order.
    @usableFromInline var entries: [Entry] = []
    /// Position of each key's entry in `entries`.
    @usableFromInline var index: [String: Int] = [:]
    /// Changes when a key comes or goes (the positions move): a kept key order is stale then.
    @usableFromInline var layout = 0

    @inlinable init() {}

    @inlinable var count: Int { entries.count }

    @inlinable subscript(key: String) -> Value? { index[key].map { entries[$0].value } }

    /// Sets `key` to `value` reflecting `applied` (replacing what it held).
    @inlinable mutating func put(_ key: String, _ value: Value, applied: AppliedOffsets) {
        if let k = index[key] {
            entries[k].value = value
            entries[k].applied = applied
        } else {
            index[key] = entries.count
            entries.append(Entry(key: key, value: value, applied: applied))
            layout &+= 1
        }
    }

    /// Removes `key`; the offsets its value reflected, nil if it held none.
    @discardableResult @inlinable mutating func remove(_ key: String) -> AppliedOffsets? {
        guard let k = index.removeValue(forKey: key) else { return nil }
        layout &+= 1
        let applied = entries[k].applied
        let last = entries.count - 1
        if k != last {
            entries.swapAt(k, last)
            index[entries[k].key] = k
        }
        entries.removeLast()
        return applied
    }
}

/// The last input offset (per input index) whose effect a key's value holds: inline for the one or
/// two inputs a stage has (32 bytes), a heap array only beyond them.
@usableFromInline struct AppliedOffsets: Sendable {
    /// `Int64.min`: no offset for that slot.
    @usableFromInline var firstOffset: Int64 = .min
    @usableFromInline var secondOffset: Int64 = .min
    @usableFromInline var firstInput: UInt8 = 0
    @usableFromInline var secondInput: UInt8 = 0
    @usableFromInline var more: [(input: UInt8, offset: Int64)]?

    @inlinable init() {}

    init(_ dictionary: [UInt8: Int64]) {
        for (input, offset) in dictionary.sorted(by: { $0.key < $1.key }) { set(input, offset) }
    }

    @inlinable subscript(input: UInt8) -> Int64? {
        if firstOffset != .min, firstInput == input { return firstOffset }
        if secondOffset != .min, secondInput == input { return secondOffset }
        return more?.first { $0.input == input }?.offset
    }

    @inlinable mutating func set(_ input: UInt8, _ offset: Int64) {
        guard offset != .min else { return }  // not an offset a record has
        if firstOffset == .min || firstInput == input {
            (firstInput, firstOffset) = (input, offset)
        } else if secondOffset == .min || secondInput == input {
            (secondInput, secondOffset) = (input, offset)
        } else if let k = more?.firstIndex(where: { $0.input == input }) {
            more![k].offset = offset
        } else {
            more = (more ?? []) + [(input, offset)]
        }
    }

    /// Calls `body` with each input and its offset.
    @inlinable func forEachOffset(_ body: (UInt8, Int64) -> Void) {
        if firstOffset != .min { body(firstInput, firstOffset) }
        if secondOffset != .min { body(secondInput, secondOffset) }
        for (input, offset) in more ?? [] { body(input, offset) }
    }

    var dictionary: [UInt8: Int64] {
        var out: [UInt8: Int64] = [:]
        if firstOffset != .min { out[firstInput] = firstOffset }
        if secondOffset != .min { out[secondInput] = secondOffset }
        for (input, offset) in more ?? [] { out[input] = offset }
        return out
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
