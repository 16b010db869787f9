import Contracts

/// Writes a `ScoreRecord` as the exact bytes `RecordCoding.encode` gives (sorted keys, no escaped
/// slashes), several times faster than `JSONEncoder`.
///
/// The fast path covers what the model produces: strings without control characters and numbers
/// whose shortest form has no exponent. Anything else (a control character in a name, an MRR of
/// 1e22) falls back to `RecordCoding`, so the output is always identical; a test checks it over
/// the sample's records and edge cases.
public enum ScoreRecordWriter {
    /// The record's JSON bytes, identical to `RecordCoding.encode(record)`.
    public static func encode(_ record: ScoreRecord) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        if append(record, to: &out) { return out }
        return try RecordCoding.encode(record)
    }

    /// Appends the record's JSON and a newline to `out` (a JSON line), falling back to `RecordCoding`.
    public static func appendLine(_ record: ScoreRecord, to out: inout [UInt8]) throws {
        if !append(record, to: &out) { out.append(contentsOf: try RecordCoding.encode(record)) }
        out.append(0x0A)
    }

    /// Appends the record's JSON to `out`; returns false (leaving `out` unchanged) when the record
    /// needs the general encoder.
    public static func append(_ record: ScoreRecord, to out: inout [UInt8]) -> Bool {
        let mark = out.count
        var w = JSONWriter(out: out)
        out = []
        let ok = w.record(record)
        out = w.out
        if !ok { out.removeSubrange(mark...) }
        return ok
    }
}

struct JSONWriter {
    var out: [UInt8]

    @inline(__always) mutating func raw(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func string(_ s: String) -> Bool {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22:
                out.append(0x5C)
                out.append(0x22)
            case 0x5C:
                out.append(0x5C)
                out.append(0x5C)
            case 0..<0x20: return false
            default: out.append(c)
            }
        }
        out.append(0x22)
        return true
    }

    mutating func int(_ v: Int) {
        if v < 0 { out.append(0x2D) }
        var m = v.magnitude
        guard m >= 10 else {
            out.append(0x30 + UInt8(m))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var k = 20
            while m > 0 {
                k -= 1
                d[k] = 0x30 + UInt8(m % 10)
                m /= 10
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[k..<20]))
        }
    }

    /// Fixed width, zero padded.
    @inline(__always) mutating func digits(_ v: Int64, _ width: Int) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = v
        while divisor > 0 {
            out.append(0x30 + UInt8(v / divisor))
            v %= divisor
            divisor /= 10
        }
    }

    /// `Timestamp.rfc3339` without the intermediate arrays.
    mutating func timestamp(_ t: Timestamp) {
        let day = t.epochDay
        let (y, m, d) = Timestamp.civilDate(epochDay: day)
        guard (0...9999).contains(y) else {
            _ = string(t.rfc3339)
            return
        }
        let msOfDay = t.millisecondsSinceEpoch - day * Timestamp.millisecondsPerDay
        out.append(0x22)
        digits(y, 4)
        out.append(0x2D)
        digits(m, 2)
        out.append(0x2D)
        digits(d, 2)
        out.append(0x54)
        digits(msOfDay / 3_600_000, 2)
        out.append(0x3A)
        digits((msOfDay / 60_000) % 60, 2)
        out.append(0x3A)
        digits((msOfDay / 1000) % 60, 2)
        if msOfDay % 1000 != 0 {
            out.append(0x2E)
            digits(msOfDay % 1000, 3)
        }
        out.append(0x5A)
        out.append(0x22)
    }

    mutating func double(_ v: Double) -> Bool {
        guard v.isFinite, !(v == 0 && v.sign == .minus) else { return false }
        if v == v.rounded(), abs(v) < 1e15 {
            int(Int(v))
            return true
        }
        // A value that is exactly the nearest double to n/1000 prints as that decimal (its shortest
        // round-trip form): the common case, as the model rounds to 0.1 and 0.001.
        let n = (v * 1000).rounded()
        if abs(n) < 1e12, n / 1000 == v {
            let whole = Int(n) / 1000
            let frac = abs(Int(n) % 1000)
            if n < 0, whole == 0 { out.append(0x2D) }
            int(whole)
            out.append(0x2E)
            if frac % 10 == 0 {
                if frac % 100 == 0 { digits(Int64(frac / 100), 1) } else { digits(Int64(frac / 10), 2) }
            } else {
                digits(Int64(frac), 3)
            }
            return true
        }
        var text = v.description
        for c in text.utf8 where c == 0x65 || c == 0x45 { return false }  // exponent form: leave it to JSONEncoder
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
        return true
    }

    mutating func record(_ r: ScoreRecord) -> Bool {
        raw("{\"account_id\":")
        guard string(r.accountId) else { return false }
        raw(r.cancellationScheduled ? ",\"cancellation_scheduled\":true" : ",\"cancellation_scheduled\":false")
        raw(",\"components\":{\"commercial\":")
        guard double(r.components.commercial) else { return false }
        raw(",\"engagement\":")
        guard double(r.components.engagement) else { return false }
        raw(",\"product_usage\":")
        guard double(r.components.productUsage) else { return false }
        raw(",\"support\":")
        guard double(r.components.support) else { return false }
        raw("},\"delta\":")
        int(r.delta)
        raw(",\"event_ids\":[")
        for (k, id) in r.eventIds.enumerated() {
            if k > 0 { out.append(0x2C) }
            guard string(id) else { return false }
        }
        raw("],\"positive_signals\":")
        guard signals(r.positiveSignals) else { return false }
        if let p = r.previousScore {
            raw(",\"previous_score\":")
            int(p)
        }
        if let z = r.previousZone {
            raw(",\"previous_zone\":")
            guard string(z.rawValue) else { return false }
        }
        raw(",\"profile\":{")
        guard profile(r.profile) else { return false }
        raw("},\"reasons\":[")
        for (k, reason) in r.reasons.enumerated() {
            if k > 0 { out.append(0x2C) }
            guard string(reason.rawValue) else { return false }
        }
        raw("],\"schema\":")
        int(r.schema)
        raw(",\"score\":")
        int(r.score)
        if let n = r.sequence {
            raw(",\"sequence\":")
            int(n)
        }
        raw(",\"signals\":")
        guard signals(r.signals) else { return false }
        raw(",\"triggers\":[")
        for (k, t) in r.triggers.enumerated() {
            if k > 0 { out.append(0x2C) }
            guard trigger(t) else { return false }
        }
        raw("],\"valid_at\":")
        timestamp(r.validAt)
        raw(",\"zone\":")
        guard string(r.zone.rawValue) else { return false }
        out.append(0x7D)
        return true
    }

    mutating func signals(_ list: [Signal]) -> Bool {
        out.append(0x5B)
        for (k, s) in list.enumerated() {
            if k > 0 { out.append(0x2C) }
            out.append(0x7B)
            if let b = s.baseline {
                raw("\"baseline\":")
                guard double(b) else { return false }
                out.append(0x2C)
            }
            raw("\"code\":")
            guard string(s.code) else { return false }
            raw(",\"family\":")
            guard string(s.family.rawValue) else { return false }
            raw(",\"impact\":")
            guard double(s.impact) else { return false }
            raw(",\"text\":")
            guard string(s.text) else { return false }
            if let v = s.value {
                raw(",\"value\":")
                guard double(v) else { return false }
            }
            out.append(0x7D)
        }
        out.append(0x5D)
        return true
    }

    mutating func profile(_ p: AccountProfile) -> Bool {
        var first = true
        if let v = p.mrr {
            key("\"mrr\":", &first)
            guard double(v) else { return false }
        }
        if let v = p.name {
            key("\"name\":", &first)
            guard string(v) else { return false }
        }
        if let v = p.owner {
            key("\"owner\":", &first)
            guard string(v) else { return false }
        }
        if let v = p.renewalDate {
            key("\"renewal_date\":", &first)
            guard string(v) else { return false }
        }
        if let v = p.tier {
            key("\"tier\":", &first)
            guard string(v.rawValue) else { return false }
        }
        if let v = p.timezone {
            key("\"timezone\":", &first)
            guard string(v) else { return false }
        }
        if let v = p.url {
            key("\"url\":", &first)
            guard string(v) else { return false }
        }
        return true
    }

    @inline(__always) mutating func key(_ k: StaticString, _ first: inout Bool) {
        if !first { out.append(0x2C) }
        first = false
        raw(k)
    }

    mutating func trigger(_ t: Trigger) -> Bool {
        out.append(0x7B)
        if let v = t.amount {
            raw("\"amount\":")
            guard double(v) else { return false }
            out.append(0x2C)
        }
        if let v = t.currency {
            raw("\"currency\":")
            guard string(v) else { return false }
            out.append(0x2C)
        }
        raw("\"event_id\":")
        guard string(t.eventId) else { return false }
        raw(",\"occurred_at\":")
        timestamp(t.occurredAt)
        if let v = t.ref {
            raw(",\"ref\":")
            guard string(v) else { return false }
        }
        if let v = t.seatsAfter {
            raw(",\"seats_after\":")
            int(v)
        }
        if let v = t.seatsBefore {
            raw(",\"seats_before\":")
            int(v)
        }
        raw(",\"type\":")
        guard string(t.type.rawValue) else { return false }
        out.append(0x7D)
        return true
    }
}
