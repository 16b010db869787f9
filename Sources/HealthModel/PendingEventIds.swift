/// The ids of the events applied since the last emitted record, as one byte buffer (each id a
/// varint length then its UTF-8), so that ids longer than a small string cost no allocation each.
struct PendingEventIds: Sendable, Equatable {
    private var bytes: [UInt8] = []
    /// Number of ids.
    private(set) var count: Int32 = 0

    /// The ids, oldest first.
    var ids: [String] {
        var out: [String] = []
        out.reserveCapacity(Int(count))
        var i = 0
        while i < bytes.count {
            let (n, next) = length(at: i)
            out.append(String(decoding: bytes[next..<(next + n)], as: UTF8.self))
            i = next + n
        }
        return out
    }

    private func length(at i: Int) -> (Int, Int) {
        var v = 0
        var shift = 0
        var i = i
        while true {
            let b = bytes[i]
            i += 1
            v |= Int(b & 0x7F) << shift
            if b < 0x80 { return (v, i) }
            shift += 7
        }
    }

    mutating func append(_ id: String) {
        var n = id.utf8.count
        while n >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: n) | 0x80)
            n >>= 7
        }
        bytes.append(UInt8(n))
        bytes.append(contentsOf: id.utf8)
        count += 1
    }

    mutating func removeFirst() {
        guard count > 0 else { return }
        let (n, next) = length(at: 0)
        bytes.removeSubrange(0..<(next + n))
        count -= 1
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        count = 0
    }

    mutating func reserveCapacity(bytes n: Int) { bytes.reserveCapacity(n) }
}
