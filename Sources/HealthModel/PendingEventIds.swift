import Contracts

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

    /// The length of the id at `i` and where its UTF-8 starts. The buffer is written by `append`
    /// only; were it ever inconsistent, the answer is "nothing left" rather than a trap.
    private func length(at i: Int) -> (Int, Int) {
        // One byte below 0x80 is the whole varint (an id of up to 127 bytes: every id in practice).
        if i < bytes.count, bytes[i] < 0x80, Int(bytes[i]) <= bytes.count - i - 1 { return (Int(bytes[i]), i + 1) }
        var next = i
        guard let n = try? Varint.read(from: bytes, at: &next), n <= UInt64(bytes.count - next) else {
            return (0, bytes.count)
        }
        return (Int(n), next)
    }

    mutating func append(_ id: String) {
        Varint.append(UInt64(id.utf8.count), to: &bytes)
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
