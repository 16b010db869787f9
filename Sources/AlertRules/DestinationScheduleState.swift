import Contracts

/// What one destination's schedule holds: alerts waiting for their `not_before`, and items waiting
/// for a digest. The dispatcher keeps one per destination it owns, written to its changelog under
/// the destination's name (`encoded()`), restored on assignment (`init(decoding:)`).
public struct DestinationScheduleState: Sendable, Equatable {
    /// An item waiting for the digest due at `due`.
    public struct DigestEntry: Sendable, Equatable {
        public var due: Timestamp
        public var priority: Priority
        public var item: DigestItem
    }

    /// Alerts held until their `notBefore`.
    public internal(set) var held: [AlertRecord] = []
    /// Items waiting for a digest.
    public internal(set) var digestEntries: [DigestEntry] = []

    public init() {}

    /// The earliest time `DestinationSchedule.takeDue` has something to release, if any.
    public var nextDue: Timestamp? {
        let times = held.compactMap(\.notBefore) + digestEntries.map(\.due)
        return times.min()
    }

    /// Nothing is held: the changelog may delete (tombstone) the key instead of writing a value.
    public var isEmpty: Bool { held.isEmpty && digestEntries.isEmpty }
}

/// The changelog encoding: a version byte, then the held alerts and the digest entries.
///
/// Version 1: count, then each held alert as length-prefixed JSON (`RecordCoding`: it carries the
/// score facts the message needs); count, then each digest entry as its due time (zig-zag varint,
/// ms), its priority (one byte, 1-9) and its item as length-prefixed JSON. Never empty: even an
/// empty state is its version byte, so a value is never mistaken for a tombstone.
extension DestinationScheduleState {
    public static let encodingVersion: UInt8 = 1

    /// The changelog value for this state (at least one byte).
    public func encoded() throws -> [UInt8] {
        var w = ByteWriter()
        w.byte(Self.encodingVersion)
        w.varint(UInt64(held.count))
        for alert in held { w.blob(try RecordCoding.encode(alert)) }
        w.varint(UInt64(digestEntries.count))
        for entry in digestEntries {
            w.signed(entry.due.millisecondsSinceEpoch)
            w.byte(UInt8(entry.priority.level))
            w.blob(try RecordCoding.encode(entry.item))
        }
        return w.bytes
    }

    /// Decodes a value written by `encoded()` of this version or an earlier one.
    public init(decoding bytes: some Collection<UInt8>) throws {
        var r = ByteReader(Array(bytes))
        let version = try r.byte()
        guard version == 1 else {
            if version > Self.encodingVersion { throw AlertRulesError.unsupportedStateVersion(Int(version)) }
            throw AlertRulesError.corruptState(reason: "unknown destination schedule version \(version)")
        }
        self.init()
        do {
            for _ in 0..<(try r.count()) {
                held.append(try RecordCoding.decode(AlertRecord.self, from: try r.blob()))
            }
            for _ in 0..<(try r.count()) {
                let due = Timestamp(millisecondsSinceEpoch: try r.signed())
                guard let priority = Priority(level: Int(try r.byte())) else {
                    throw AlertRulesError.corruptState(reason: "bad digest priority")
                }
                digestEntries.append(DigestEntry(due: due, priority: priority, item: try RecordCoding.decode(DigestItem.self, from: try r.blob())))
            }
        } catch let error as AlertRulesError {
            throw error
        } catch {
            throw AlertRulesError.corruptState(reason: "bad embedded record in destination schedule")
        }
        guard r.atEnd else { throw AlertRulesError.corruptState(reason: "\(r.remaining) trailing bytes") }
    }
}
