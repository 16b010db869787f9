import Contracts

/// What one destination's schedule holds: alerts waiting for their `not_before`, and items waiting
/// for a digest. The dispatcher keeps one per destination it owns, written to its changelog under
/// the destination's name (`encoded()`), restored on assignment (`init(decoding:)`).
public struct DestinationScheduleState: Sendable, Equatable {
    /// An item waiting for the digest due at `due`.
    public struct DigestEntry: Sendable, Equatable {
        /// When the digest it waits for is due.
        public var due: Timestamp
        /// The alert's priority (the digest takes its most urgent item's).
        public var priority: Priority
        /// The line the digest shows.
        public var item: DigestItem
    }

    /// Alerts held until their `notBefore`.
    public internal(set) var held: [AlertRecord] = []
    /// Items waiting for a digest.
    public internal(set) var digestEntries: [DigestEntry] = []
    /// The due time of the last digest released: an item admitted later for that time or an
    /// earlier one (a clock behind, a replayed record) goes to the next digest, so a due time never
    /// gets a second digest (its id would be the same and the delivery log would drop it, items and all).
    public internal(set) var lastDigestDue: Timestamp?

    public init() {}

    /// The earliest time `DestinationSchedule.takeDue` has something to release, if any.
    public var nextDue: Timestamp? {
        let times = held.compactMap(\.notBefore) + digestEntries.map(\.due)
        return times.min()
    }

    /// Nothing is held and no digest was sent: the changelog may delete (tombstone) the key.
    public var isEmpty: Bool { held.isEmpty && digestEntries.isEmpty && lastDigestDue == nil }
}

/// The changelog encoding: a version byte, then the held alerts and the digest entries.
///
/// Version 2 (current): the last digest's due time (a byte 0, or 1 and the time as a zig-zag
/// varint in ms), then the version 1 body. Version 1: count, then each held alert as length-prefixed JSON (`RecordCoding`: it carries the
/// score facts the message needs); count, then each digest entry as its due time (zig-zag varint,
/// ms), its priority (one byte, 1-9) and its item as length-prefixed JSON. Never empty: even an
/// empty state is its version byte, so a value is never mistaken for a tombstone.
extension DestinationScheduleState {
    public static let encodingVersion: UInt8 = 2

    /// The changelog value for this state (at least one byte).
    public func encoded() throws -> [UInt8] {
        var w = ByteWriter()
        w.byte(Self.encodingVersion)
        if let lastDigestDue {
            w.byte(1)
            w.signed(lastDigestDue.millisecondsSinceEpoch)
        } else {
            w.byte(0)
        }
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
        guard version == 1 || version == 2 else {
            if version > Self.encodingVersion { throw AlertRulesError.unsupportedStateVersion(Int(version)) }
            throw AlertRulesError.corruptState(reason: "unknown destination schedule version \(version)")
        }
        self.init()
        if version >= 2 {
            switch try r.byte() {
            case 0: break
            case 1: lastDigestDue = Timestamp(millisecondsSinceEpoch: try r.time())
            case let flag: throw AlertRulesError.corruptState(reason: "bad last digest flag \(flag)")
            }
        }
        do {
            for _ in 0..<(try r.count()) {
                held.append(try RecordCoding.decode(AlertRecord.self, from: try r.blob()))
            }
            for _ in 0..<(try r.count()) {
                let due = Timestamp(millisecondsSinceEpoch: try r.time())
                guard let priority = Priority(level: Int(try r.byte())) else {
                    throw AlertRulesError.corruptState(reason: "bad digest priority")
                }
                digestEntries.append(
                    DigestEntry(
                        due: due, priority: priority, item: try RecordCoding.decode(DigestItem.self, from: try r.blob())
                    ))
            }
        } catch let error as AlertRulesError {
            throw error
        } catch {
            throw AlertRulesError.corruptState(reason: "bad embedded record in destination schedule")
        }
        guard r.atEnd else { throw AlertRulesError.corruptState(reason: "\(r.remaining) trailing bytes") }
    }
}
