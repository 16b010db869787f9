import Foundation

/// Reads a `health-scores` record (`ScoreRecord` as JSON) straight from its bytes, without
/// Foundation's `JSONDecoder`: the evaluator decodes one per record it reads.
///
/// It accepts what `RecordCoding.decode(ScoreRecord.self, from:)` accepts, with the same value, and
/// refuses what it refuses, following the rules of Foundation's decoder on Linux:
/// - keys in any order, whitespace, unknown keys ignored, the first of two equal keys wins, the keys
///   of every object read are themselves read (a bad escape in any of them refuses the record);
/// - an unknown key's value is only checked for structure, as Foundation's scanner does (its strings
///   and numbers are not read); nesting is limited to 512 levels; a trailing comma is allowed;
/// - strings: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs, no raw
///   control characters, valid UTF-8; a UTF-8 byte order mark is skipped;
/// - numbers: JSON's grammar; a `Double` must be finite and not a non-zero that rounds to zero (by
///   Foundation's own check, which refuses `0e1` but not `0e10`); an
///   `Int` written as a plain integer must fit in 64 bits (one written with a fraction or an exponent,
///   `1.0` or `1e2`, which no encoder of the fleet writes, is handed to Foundation, whose rules for
///   those are intricate);
/// - input that is not UTF-8 (UTF-16 or UTF-32, which Foundation transcodes) is handed to Foundation.
///
/// It never traps: every read is bounds-checked, nesting is bounded, numbers that do not fit are
/// refused. A refusal is a `ScoreRecordDecodingError` whose description is the dead letter's reason
/// (`missing key "valid_at"`, `wrong type at score: expected a number`). When a record has several
/// faults, a syntax error anywhere wins (as with Foundation, which scans the whole text first); among
/// the others, the first met in the text is reported.
public enum ScoreRecordDecoder {
    /// Deepest nesting of arrays and objects accepted, the record's own object included (Foundation's limit).
    public static let maxDepth = 512

    /// Decodes one record from `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(ScoreRecordDecodingError) -> ScoreRecord {
        try bytes.withUnsafeBufferPointer { buffer throws(ScoreRecordDecodingError) in try decode(buffer) }
    }

    /// Decodes one record from the bytes in `buffer` without copying them.
    public static func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(ScoreRecordDecodingError) -> ScoreRecord {
        let n = buffer.count
        var start = 0
        if n >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF {
            start = 3
        } else if (n >= 1 && (buffer[0] == 0 || buffer[0] >= 0x80)) || (n >= 2 && buffer[1] == 0) {
            return try decodeWithFoundation(buffer)
        }
        var scanner = ScoreRecordScanner(bytes: buffer, start: start)
        do {
            return try scanner.record()
        } catch {
            if case .notJSON = error.kind { throw error }
            // Foundation scans the whole text before it reads a field: a syntax error anywhere wins.
            var check = ScoreRecordScanner(bytes: buffer, start: start)
            try check.document()
            throw error
        }
    }

    /// UTF-16 and UTF-32 input, which Foundation detects and transcodes: decoded as before.
    private static func decodeWithFoundation(
        _ buffer: UnsafeBufferPointer<UInt8>
    ) throws(ScoreRecordDecodingError) -> ScoreRecord {
        do {
            return try JSONDecoder().decode(ScoreRecord.self, from: Data(buffer))
        } catch {
            throw ScoreRecordDecodingError(.notJSON, detail: "not UTF-8 (\(RecordCoding.describe(error)))")
        }
    }
}

/// `bytes` are exactly the UTF-8 of `text`.
@inline(__always) func sameBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    let count = text.utf8CodeUnitCount
    guard bytes.count == count, let base = bytes.baseAddress else { return false }
    return memcmp(base, text.utf8Start, count) == 0
}

/// The keys of one record type: matched on their bytes by a switch (no tables, no reference
/// counting on the hot path), named in declaration order (the order Foundation's synthesized
/// decoder reads them in) for errors.
protocol RecordKeySet {
    /// The key's index in declaration order, or -1 for a key the type does not have.
    static func index(of key: UnsafeBufferPointer<UInt8>) -> Int
    static var names: [String] { get }
}

enum ScoreRecordKeys: RecordKeySet {
    static let names = [
        "schema", "account_id", "valid_at", "score", "previous_score", "delta", "zone", "previous_zone",
        "components", "signals", "positive_signals", "profile", "triggers", "event_ids", "reasons",
        "cancellation_scheduled", "sequence",
    ]

    @inline(__always) static func index(of k: UnsafeBufferPointer<UInt8>) -> Int {
        switch k.count {
        case 4: sameBytes(k, "zone") ? 6 : -1
        case 5: sameBytes(k, "score") ? 3 : sameBytes(k, "delta") ? 5 : -1
        case 6: sameBytes(k, "schema") ? 0 : -1
        case 7: sameBytes(k, "signals") ? 9 : sameBytes(k, "profile") ? 11 : sameBytes(k, "reasons") ? 14 : -1
        case 8: sameBytes(k, "valid_at") ? 2 : sameBytes(k, "triggers") ? 12 : sameBytes(k, "sequence") ? 16 : -1
        case 9: sameBytes(k, "event_ids") ? 13 : -1
        case 10: sameBytes(k, "account_id") ? 1 : sameBytes(k, "components") ? 8 : -1
        case 13: sameBytes(k, "previous_zone") ? 7 : -1
        case 14: sameBytes(k, "previous_score") ? 4 : -1
        case 16: sameBytes(k, "positive_signals") ? 10 : -1
        case 22: sameBytes(k, "cancellation_scheduled") ? 15 : -1
        default: -1
        }
    }
}

enum SignalKeys: RecordKeySet {
    static let names = ["code", "family", "text", "impact", "value", "baseline"]

    @inline(__always) static func index(of k: UnsafeBufferPointer<UInt8>) -> Int {
        switch k.count {
        case 4: sameBytes(k, "code") ? 0 : sameBytes(k, "text") ? 2 : -1
        case 5: sameBytes(k, "value") ? 4 : -1
        case 6: sameBytes(k, "family") ? 1 : sameBytes(k, "impact") ? 3 : -1
        case 8: sameBytes(k, "baseline") ? 5 : -1
        default: -1
        }
    }
}

enum FamilyScoresKeys: RecordKeySet {
    static let names = ["product_usage", "engagement", "support", "commercial"]

    @inline(__always) static func index(of k: UnsafeBufferPointer<UInt8>) -> Int {
        switch k.count {
        case 7: sameBytes(k, "support") ? 2 : -1
        case 10: sameBytes(k, "engagement") ? 1 : sameBytes(k, "commercial") ? 3 : -1
        case 13: sameBytes(k, "product_usage") ? 0 : -1
        default: -1
        }
    }
}

enum AccountProfileKeys: RecordKeySet {
    static let names = ["name", "tier", "mrr", "owner", "url", "renewal_date", "timezone"]

    @inline(__always) static func index(of k: UnsafeBufferPointer<UInt8>) -> Int {
        switch k.count {
        case 3: sameBytes(k, "mrr") ? 2 : sameBytes(k, "url") ? 4 : -1
        case 4: sameBytes(k, "name") ? 0 : sameBytes(k, "tier") ? 1 : -1
        case 5: sameBytes(k, "owner") ? 3 : -1
        case 8: sameBytes(k, "timezone") ? 6 : -1
        case 12: sameBytes(k, "renewal_date") ? 5 : -1
        default: -1
        }
    }
}

enum TriggerKeys: RecordKeySet {
    static let names = [
        "type", "event_id", "occurred_at", "ref", "amount", "currency", "seats_before", "seats_after",
    ]

    @inline(__always) static func index(of k: UnsafeBufferPointer<UInt8>) -> Int {
        switch k.count {
        case 3: sameBytes(k, "ref") ? 3 : -1
        case 4: sameBytes(k, "type") ? 0 : -1
        case 6: sameBytes(k, "amount") ? 4 : -1
        case 8: sameBytes(k, "event_id") ? 1 : sameBytes(k, "currency") ? 5 : -1
        case 11: sameBytes(k, "occurred_at") ? 2 : sameBytes(k, "seats_after") ? 7 : -1
        case 12: sameBytes(k, "seats_before") ? 6 : -1
        default: -1
        }
    }
}

/// An enum carried as text, matched on its raw value's bytes.
protocol RecordTextEnum: RawRepresentable, CaseIterable where RawValue == String {
    static func matching(_ bytes: UnsafeBufferPointer<UInt8>) -> Self?
}

extension RecordTextEnum {
    /// The raw values, for errors.
    static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension Zone: RecordTextEnum {
    @inline(__always) static func matching(_ b: UnsafeBufferPointer<UInt8>) -> Zone? {
        sameBytes(b, "healthy")
            ? .healthy : sameBytes(b, "at_risk") ? .atRisk : sameBytes(b, "critical") ? .critical : nil
    }
}

extension SignalFamily: RecordTextEnum {
    @inline(__always) static func matching(_ b: UnsafeBufferPointer<UInt8>) -> SignalFamily? {
        switch b.count {
        case 7: sameBytes(b, "support") ? .support : nil
        case 10: sameBytes(b, "engagement") ? .engagement : sameBytes(b, "commercial") ? .commercial : nil
        case 13: sameBytes(b, "product_usage") ? .productUsage : nil
        default: nil
        }
    }
}

extension Tier: RecordTextEnum {
    @inline(__always) static func matching(_ b: UnsafeBufferPointer<UInt8>) -> Tier? {
        sameBytes(b, "enterprise")
            ? .enterprise : sameBytes(b, "mid_market") ? .midMarket : sameBytes(b, "smb") ? .smb : nil
    }
}

extension TriggerType: RecordTextEnum {
    @inline(__always) static func matching(_ b: UnsafeBufferPointer<UInt8>) -> TriggerType? {
        switch b.count {
        case 13: sameBytes(b, "champion_left") ? .championLeft : sameBytes(b, "seats_changed") ? .seatsChanged : nil
        case 14: sameBytes(b, "payment_failed") ? .paymentFailed : nil
        case 20: sameBytes(b, "billing_retry_failed") ? .billingRetryFailed : nil
        case 22: sameBytes(b, "subscription_cancelled") ? .subscriptionCancelled : nil
        default: nil
        }
    }
}

extension EmitReason: RecordTextEnum {
    @inline(__always) static func matching(_ b: UnsafeBufferPointer<UInt8>) -> EmitReason? {
        switch b.count {
        case 5: sameBytes(b, "first") ? .first : nil
        case 10: sameBytes(b, "score_step") ? .scoreStep : nil
        case 11: sameBytes(b, "zone_change") ? .zoneChange : nil
        case 14: sameBytes(b, "business_event") ? .businessEvent : nil
        case 15: sameBytes(b, "signals_changed") ? .signalsChanged : nil
        default: nil
        }
    }
}

/// The byte-level reader behind `ScoreRecordDecoder`: one pass over the text, reading the fields it
/// knows and checking only the structure of everything else.
struct ScoreRecordScanner {
    typealias Failure = ScoreRecordDecodingError

    let b: UnsafeBufferPointer<UInt8>
    /// The first byte, for reading eight at a time (nil only when there are no bytes).
    let base: UnsafeRawPointer?
    let n: Int
    var i: Int
    /// Unescaped bytes of the last string that held escapes.
    var scratch: [UInt8] = []
    /// Arrays and objects open around `i` (Foundation counts the record's own object as 1).
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, start: Int) {
        b = bytes
        base = UnsafeRawPointer(bytes.baseAddress)
        n = bytes.count
        i = start
    }

    // MARK: Errors

    func syntax(_ what: String) -> Failure {
        i >= n
            ? Failure(.notJSON, offset: n, detail: "unexpected end of input")
            : Failure(.notJSON, offset: i, detail: what)
    }

    static func wrongType(_ expected: String) -> Failure { Failure(.wrongType(expected: expected)) }

    // MARK: Structure (what Foundation's scanner checks of every value)

    @inline(__always) mutating func skipWhitespace() {
        while i < n {
            let c = b[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// The whole text is one JSON value and nothing but whitespace after it.
    mutating func document() throws(Failure) {
        try skipValue(depth: 0)
        skipWhitespace()
        guard i == n else { throw syntax("text after the value") }
    }

    /// Skips one value (after whitespace) as Foundation's scanner does: structure, literals and string
    /// ends are checked; string contents and number characters are not.
    mutating func skipValue(depth: Int) throws(Failure) {
        skipWhitespace()
        guard i < n else { throw syntax("") }
        switch b[i] {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"):
            guard depth < ScoreRecordDecoder.maxDepth else { throw syntax("nesting deeper than 512") }
            i += 1
            skipWhitespace()
            if i < n, b[i] == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                guard i < n, b[i] == UInt8(ascii: "\"") else { throw syntax("expected a key") }
                try skipString()
                try expectColon()
                try skipValue(depth: depth + 1)
                if try endOfMember(close: UInt8(ascii: "}")) { return }
            }
        case UInt8(ascii: "["):
            guard depth < ScoreRecordDecoder.maxDepth else { throw syntax("nesting deeper than 512") }
            i += 1
            skipWhitespace()
            if i < n, b[i] == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                if try endOfMember(close: UInt8(ascii: "]")) { return }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = numberToken()
        default:
            throw syntax("unexpected character")
        }
    }

    /// After a member of an object or array: a comma (a trailing one before `close` is allowed, as
    /// Foundation allows it) or `close`. True when the container ended.
    @inline(__always) mutating func endOfMember(close: UInt8) throws(Failure) -> Bool {
        skipWhitespace()
        guard i < n else { throw syntax("") }
        if b[i] == close {
            i += 1
            return true
        }
        guard b[i] == UInt8(ascii: ",") else { throw syntax("expected , or \(Character(Unicode.Scalar(close)))") }
        i += 1
        skipWhitespace()
        if i < n, b[i] == close {
            i += 1
            return true
        }
        return false
    }

    @inline(__always) mutating func expectColon() throws(Failure) {
        skipWhitespace()
        guard i < n, b[i] == UInt8(ascii: ":") else { throw syntax("expected :") }
        i += 1
    }

    mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard n - i >= count else {
            i = n
            throw syntax("")
        }
        for k in 0..<count where b[i + k] != word.utf8Start[k] {
            i += k
            throw syntax("expected \(word)")
        }
        i += count
    }

    /// A string's extent only (Foundation's scanner): any byte after a backslash, four bytes that are
    /// not a quote after `\u`.
    mutating func skipString() throws(Failure) {
        i += 1
        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < n else {
                    i = n
                    throw syntax("")
                }
                if b[i + 1] == UInt8(ascii: "u") {
                    guard n - (i + 2) >= 4 else {
                        i = n
                        throw syntax("")
                    }
                    for k in 2...5 where b[i + k] == UInt8(ascii: "\"") { throw syntax("short \\u escape") }
                    i += 6
                } else {
                    i += 2
                }
            } else {
                i += 1
            }
        }
        throw syntax("")
    }

    /// The maximal run of number characters (digits, `.`, `+`, `-`, `e`, `E`), as Foundation's scanner
    /// takes it.
    @inline(__always) mutating func numberToken() -> Range<Int> {
        let start = i
        i += 1
        while i < n {
            let c = b[i]
            if (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2B || c == 0x2D || c == 0x65 || c == 0x45 {
                i += 1
            } else {
                break
            }
        }
        return start..<i
    }

    // MARK: Strings, read

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: UInt32(c - 0x30)
        case 0x41...0x46: UInt32(c - 0x41 + 10)
        case 0x61...0x66: UInt32(c - 0x61 + 10)
        default: nil
        }
    }

    /// Four hex digits at `at`, or nil.
    func hex4(at: Int) -> UInt32? {
        guard at >= 0, n - at >= 4 else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = Self.hexValue(b[at + k]) else { return nil }
            v = v << 4 | d
        }
        return v
    }

    /// The length of the valid UTF-8 sequence (2-4 bytes, no overlong forms, no surrogates, at most
    /// U+10FFFF) that starts at `at` with a byte >= 0x80, or nil.
    func utf8SequenceLength(at: Int) -> Int? {
        let c0 = b[at]
        let len: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c0 {
        case 0xC2...0xDF: len = 2
        case 0xE0:
            len = 3
            lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: len = 3
        case 0xED:
            len = 3
            hi = 0x9F
        case 0xF0:
            len = 4
            lo = 0x90
        case 0xF1...0xF3: len = 4
        case 0xF4:
            len = 4
            hi = 0x8F
        default: return nil
        }
        guard n - at >= len else { return nil }
        let c1 = b[at + 1]
        guard c1 >= lo, c1 <= hi else { return nil }
        for k in 2..<len where b[at + k] & 0xC0 != 0x80 { return nil }
        return len
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            out.append(UInt8(truncatingIfNeeded: 0xC0 | scalar >> 6))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(truncatingIfNeeded: 0xE0 | scalar >> 12))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F))
        }
    }

    /// Whether any of the eight bytes in `w` is a quote, a backslash, a control character or not ASCII
    /// (exact as a yes or no: the classic "has zero byte" and "has byte less than" tests).
    @inline(__always) static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (0x22 &* ones)
        let backslash = w ^ (0x5C &* ones)
        let t = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- 0x20 &* ones) & ~w) | w
        return t & highs != 0
    }

    /// Reads a string at its opening quote, as Foundation reads one it decodes. Returns the range of
    /// its bytes in the input when it holds no escapes; otherwise nil, its unescaped bytes in `scratch`.
    @inline(__always) mutating func readString() throws(Failure) -> Range<Int>? {
        let start = i + 1
        var j = start
        while j < n {
            if let base, n - j >= 8, !Self.hasSpecialByte((base + j).loadUnaligned(as: UInt64.self)) {
                j += 8
                continue
            }
            let c = b[j]
            if c == UInt8(ascii: "\"") {
                i = j + 1
                return start..<j
            }
            guard c >= 0x20, c < 0x80, c != UInt8(ascii: "\\") else { break }
            j += 1
        }
        i = j
        return try readStringSlowly(from: start)
    }

    /// `readString` from the first byte that is not plain ASCII text (or the end): UTF-8 sequences,
    /// escapes, refusals.
    @inline(never) mutating func readStringSlowly(from start: Int) throws(Failure) -> Range<Int>? {
        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return start..<(i - 1)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw Failure(.badValue("control character in text"), offset: i) }
            if c < 0x80 {
                i += 1
            } else {
                guard let len = utf8SequenceLength(at: i) else { throw Failure(.badValue("not UTF-8"), offset: i) }
                i += len
            }
        }
        guard i < n else { throw syntax("") }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return nil
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < n else {
                    i = n
                    throw syntax("")
                }
                let e = b[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    guard let unit = hex4(at: i) else { throw Failure(.badValue("bad \\u escape"), offset: i) }
                    i += 4
                    var scalar = unit
                    if unit >= 0xD800, unit <= 0xDBFF {
                        guard i + 1 < n, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                            let low = hex4(at: i + 2), low >= 0xDC00, low <= 0xDFFF
                        else { throw Failure(.badValue("unpaired surrogate in \\u escape"), offset: i) }
                        i += 6
                        scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else if unit >= 0xDC00, unit <= 0xDFFF {
                        throw Failure(.badValue("unpaired surrogate in \\u escape"), offset: i)
                    }
                    Self.appendUTF8(scalar, to: &scratch)
                default:
                    throw Failure(.badValue("bad escape in text"), offset: i - 1)
                }
            } else if c < 0x20 {
                throw Failure(.badValue("control character in text"), offset: i)
            } else if c < 0x80 {
                scratch.append(c)
                i += 1
            } else {
                guard let len = utf8SequenceLength(at: i) else { throw Failure(.badValue("not UTF-8"), offset: i) }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + len)]))
                i += len
            }
        }
        throw syntax("")
    }

    /// Calls `body` with the bytes of the string just read by `readString`.
    @inline(__always) func withStringBytes<T>(
        _ range: Range<Int>?, _ body: (UnsafeBufferPointer<UInt8>) -> T
    ) -> T {
        if let range { return body(UnsafeBufferPointer(rebasing: b[range])) }
        return scratch.withUnsafeBufferPointer(body)
    }

    // MARK: Values of fields

    /// What starts at `i` (after whitespace): a string, a number, true/false, null, object or array.
    @inline(__always) mutating func valueStart() throws(Failure) -> UInt8 {
        skipWhitespace()
        guard i < n else { throw syntax("") }
        return b[i]
    }

    /// Consumes `null` if it is the value here.
    @inline(__always) mutating func takeNull() throws(Failure) -> Bool {
        guard try valueStart() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A value of a type the field does not take: checked for structure (so a syntax error in it is
    /// reported as such), then refused.
    mutating func wrong(_ expected: String) throws(Failure) -> Never {
        try skipValue(depth: depth)
        throw Self.wrongType(expected)
    }

    mutating func string() throws(Failure) -> String {
        guard try valueStart() == UInt8(ascii: "\"") else { try wrong("text") }
        let range = try readString()
        return withStringBytes(range) { String(decoding: $0, as: UTF8.self) }
    }

    mutating func optionalString() throws(Failure) -> String? {
        if try takeNull() { return nil }
        return try string()
    }

    mutating func strings() throws(Failure) -> [String] {
        var out: [String] = []
        try list { scanner throws(Failure) in out.append(try scanner.string()) }
        return out
    }

    mutating func timestamp() throws(Failure) -> Timestamp {
        guard try valueStart() == UInt8(ascii: "\"") else { try wrong("text") }
        let range = try readString()
        guard let t = withStringBytes(range, { Timestamp(rfc3339Bytes: $0) }) else {
            throw Failure(.badValue("not RFC 3339"))
        }
        return t
    }

    mutating func enumValue<E: RecordTextEnum>(_: E.Type) throws(Failure) -> E {
        guard try valueStart() == UInt8(ascii: "\"") else { try wrong("text") }
        let range = try readString()
        guard let v = withStringBytes(range, { E.matching($0) }) else {
            let text = withStringBytes(range) { String(decoding: $0, as: UTF8.self) }
            throw Failure(.badValue("\"\(text.prefix(40))\" is not one of \(E.choices)"))
        }
        return v
    }

    mutating func optionalEnum<E: RecordTextEnum>(_ type: E.Type) throws(Failure) -> E? {
        if try takeNull() { return nil }
        return try enumValue(type)
    }

    mutating func bool() throws(Failure) -> Bool {
        switch try valueStart() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            try wrong("true or false")
        }
    }

    @inline(__always) mutating func numberStart() throws(Failure) -> Bool {
        let c = try valueStart()
        return c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39)
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, over the whole token.
    func isJSONNumber(_ r: Range<Int>) -> Bool {
        var k = r.lowerBound
        let end = r.upperBound
        @inline(__always) func digit(_ at: Int) -> Bool { at < end && b[at] >= 0x30 && b[at] <= 0x39 }
        if k < end, b[k] == UInt8(ascii: "-") { k += 1 }
        guard digit(k) else { return false }
        if b[k] == 0x30 {
            k += 1
        } else {
            while digit(k) { k += 1 }
        }
        if k < end, b[k] == UInt8(ascii: ".") {
            k += 1
            guard digit(k) else { return false }
            while digit(k) { k += 1 }
        }
        if k < end, b[k] == UInt8(ascii: "e") || b[k] == UInt8(ascii: "E") {
            k += 1
            if k < end, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
            guard digit(k) else { return false }
            while digit(k) { k += 1 }
        }
        return k == end
    }

    mutating func int() throws(Failure) -> Int {
        guard try numberStart() else { try wrong("a number") }
        let r = numberToken()
        guard isJSONNumber(r) else { throw Failure(.badValue("not a number"), offset: r.lowerBound) }
        let negative = b[r.lowerBound] == UInt8(ascii: "-")
        var k = negative ? r.lowerBound + 1 : r.lowerBound
        var magnitude: UInt64 = 0
        var plain = true
        while k < r.upperBound {
            let c = b[k]
            guard c >= 0x30, c <= 0x39 else {
                plain = false
                break
            }
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { throw Failure(.badValue("number does not fit in 64 bits")) }
            magnitude = m2
            k += 1
        }
        if plain {
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else {
                    throw Failure(.badValue("number does not fit in 64 bits"))
                }
                return magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)
            }
            guard magnitude <= UInt64(Int64.max) else { throw Failure(.badValue("number does not fit in 64 bits")) }
            return Int(magnitude)
        }
        // `1.0`, `1e2`: Foundation's rules (through Double, then Decimal) decide.
        let token = Data(UnsafeBufferPointer(rebasing: b[r]))
        guard let value = try? JSONDecoder().decode(Int.self, from: token) else {
            throw Failure(.badValue("not a whole number that fits in 64 bits"))
        }
        return value
    }

    mutating func optionalInt() throws(Failure) -> Int? {
        if try takeNull() { return nil }
        return try int()
    }

    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    mutating func double() throws(Failure) -> Double {
        guard try numberStart() else { try wrong("a number") }
        let r = numberToken()
        guard isJSONNumber(r) else { throw Failure(.badValue("not a number"), offset: r.lowerBound) }
        // The exact fast path (Clinger): at most 19 significant digits forming an integer below 2^53,
        // scaled by an exact power of ten up to 10^22 with one correctly rounded operation.
        var k = r.lowerBound
        let negative = b[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var fast = true
        while k < r.upperBound, b[k] >= 0x30, b[k] <= 0x39 {
            let d = b[k] - 0x30
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(d) } else { fast = false }
            if mantissa != 0 { digits += 1 }
            k += 1
        }
        if k < r.upperBound, b[k] == UInt8(ascii: ".") {
            k += 1
            while k < r.upperBound, b[k] >= 0x30, b[k] <= 0x39 {
                let d = b[k] - 0x30
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(d) } else { fast = false }
                if mantissa != 0 { digits += 1 }
                scale -= 1
                k += 1
            }
        }
        if k < r.upperBound { fast = false }  // an exponent: the general path
        if fast, mantissa <= 1 << 53, -scale <= 22 {
            let m = Double(mantissa)
            let v = scale == 0 ? m : m / Self.exactPowersOfTen[-scale]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw Failure(.badValue("number out of range"))
        }
        guard value != 0 || foundationSeesTrueZero(r) else { throw Failure(.badValue("number out of range")) }
        return value
    }

    /// Whether Foundation takes a token that parsed as zero for a true zero rather than an underflow.
    /// Its check stops at the first non-zero digit or `e`, reading the token four bytes at a time
    /// from the front, then the last one to three bytes from the back: so `0e1` is refused (its last
    /// byte is read first), while `0e10`, `-0e1` and `0.0e1` are zeros. Kept byte for byte, because
    /// this decoder must refuse exactly what Foundation refuses.
    func foundationSeesTrueZero(_ r: Range<Int>) -> Bool {
        @inline(__always) func verdict(_ c: UInt8) -> Bool? {
            if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") { return false }
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { return true }
            return nil
        }
        var k = r.lowerBound
        while r.upperBound - k >= 4 {
            for at in k..<(k + 4) {
                if let answer = verdict(b[at]) { return answer }
            }
            k += 4
        }
        for at in (k..<r.upperBound).reversed() {
            if let answer = verdict(b[at]) { return answer }
        }
        return true
    }

    mutating func optionalDouble() throws(Failure) -> Double? {
        if try takeNull() { return nil }
        return try double()
    }

    // MARK: Containers

    /// Reads the array at `i`, calling `element` for each value (after whitespace).
    @inline(__always) mutating func list(
        _ element: (inout ScoreRecordScanner) throws(Failure) -> Void
    ) throws(Failure) {
        guard try valueStart() == UInt8(ascii: "[") else { try wrong("a list") }
        i += 1
        depth += 1
        defer { depth -= 1 }
        skipWhitespace()
        if i < n, b[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        var index = 0
        while true {
            do {
                try element(&self)
            } catch {
                throw error.under(index)
            }
            if try endOfMember(close: UInt8(ascii: "]")) { return }
            index += 1
        }
    }

    /// Reads the object at `i`: every key is read (as Foundation reads them all); for the first
    /// occurrence of a key in `keys`, `field` is called with its index, at its value; other values are
    /// skipped. Returns the set of key indexes found.
    @inline(__always) mutating func object<Keys: RecordKeySet>(
        _ keys: Keys.Type, _ field: (inout ScoreRecordScanner, Int) throws(Failure) -> Void
    ) throws(Failure) -> UInt32 {
        guard try valueStart() == UInt8(ascii: "{") else { try wrong("an object") }
        i += 1
        depth += 1
        defer { depth -= 1 }
        skipWhitespace()
        var seen: UInt32 = 0
        if i < n, b[i] == UInt8(ascii: "}") {
            i += 1
            return seen
        }
        while true {
            skipWhitespace()
            guard i < n, b[i] == UInt8(ascii: "\"") else { throw syntax("expected a key") }
            let keyStart = i
            let range: Range<Int>?
            do {
                range = try readString()
            } catch {
                if case .notJSON = error.kind { throw error }
                throw Failure(.badValue("bad key"), offset: keyStart)
            }
            let k = withStringBytes(range) { Keys.index(of: $0) }
            try expectColon()
            if k >= 0, seen & (1 << UInt32(k)) == 0 {
                seen |= 1 << UInt32(k)
                do {
                    try field(&self, k)
                } catch {
                    if case .notJSON = error.kind { throw error }
                    throw error.under(Keys.names[k])
                }
            } else {
                try skipValue(depth: depth)
            }
            if try endOfMember(close: UInt8(ascii: "}")) { return seen }
        }
    }

    /// The first required key (in declaration order) missing from `seen`.
    static func requireKeys<Keys: RecordKeySet>(_ seen: UInt32, _ required: UInt32, _: Keys.Type) throws(Failure) {
        let missing = required & ~seen
        guard missing != 0 else { return }
        throw Failure(.missingKey(Keys.names[missing.trailingZeroBitCount]))
    }

    // MARK: The record's types

    mutating func record() throws(Failure) -> ScoreRecord {
        skipWhitespace()
        guard i < n else { throw syntax("") }
        guard b[i] == UInt8(ascii: "{") else {
            try document()
            throw Self.wrongType("an object")
        }
        var r = ScoreRecord(
            schema: 0, accountId: "", validAt: Timestamp(millisecondsSinceEpoch: 0), score: 0, previousScore: nil,
            delta: 0, zone: .healthy, previousZone: nil,
            components: FamilyScores(productUsage: 0, engagement: 0, support: 0, commercial: 0), signals: [],
            positiveSignals: [], profile: AccountProfile(), triggers: [], eventIds: [], reasons: [],
            cancellationScheduled: false)
        let seen = try object(ScoreRecordKeys.self) { s, k throws(Failure) in
            switch k {
            case 0: r.schema = try s.int()
            case 1: r.accountId = try s.string()
            case 2: r.validAt = try s.timestamp()
            case 3: r.score = try s.int()
            case 4: r.previousScore = try s.optionalInt()
            case 5: r.delta = try s.int()
            case 6: r.zone = try s.enumValue(Zone.self)
            case 7: r.previousZone = try s.optionalEnum(Zone.self)
            case 8: r.components = try s.familyScores()
            case 9: r.signals = try s.signals()
            case 10: r.positiveSignals = try s.signals()
            case 11: r.profile = try s.profile()
            case 12: r.triggers = try s.triggers()
            case 13: r.eventIds = try s.strings()
            case 14:
                var out: [EmitReason] = []
                try s.list { s2 throws(Failure) in out.append(try s2.enumValue(EmitReason.self)) }
                r.reasons = out
            case 15: r.cancellationScheduled = try s.bool()
            default: r.sequence = try s.optionalInt()
            }
        }
        skipWhitespace()
        guard i == n else { throw syntax("text after the record") }
        // Required: all but previous_score (4), previous_zone (7) and sequence (16).
        try Self.requireKeys(seen, 0x1_FFFF & ~(1 << 4 | 1 << 7 | 1 << 16), ScoreRecordKeys.self)
        return r
    }

    mutating func familyScores() throws(Failure) -> FamilyScores {
        var v = FamilyScores(productUsage: 0, engagement: 0, support: 0, commercial: 0)
        let seen = try object(FamilyScoresKeys.self) { s, k throws(Failure) in
            switch k {
            case 0: v.productUsage = try s.double()
            case 1: v.engagement = try s.double()
            case 2: v.support = try s.double()
            default: v.commercial = try s.double()
            }
        }
        try Self.requireKeys(seen, 0xF, FamilyScoresKeys.self)
        return v
    }

    mutating func signals() throws(Failure) -> [Signal] {
        var out: [Signal] = []
        try list { s throws(Failure) in out.append(try s.signal()) }
        return out
    }

    mutating func signal() throws(Failure) -> Signal {
        var v = Signal(code: "", family: .productUsage, text: "", impact: 0)
        let seen = try object(SignalKeys.self) { s, k throws(Failure) in
            switch k {
            case 0: v.code = try s.string()
            case 1: v.family = try s.enumValue(SignalFamily.self)
            case 2: v.text = try s.string()
            case 3: v.impact = try s.double()
            case 4: v.value = try s.optionalDouble()
            default: v.baseline = try s.optionalDouble()
            }
        }
        try Self.requireKeys(seen, 0xF, SignalKeys.self)
        return v
    }

    mutating func profile() throws(Failure) -> AccountProfile {
        var v = AccountProfile()
        _ = try object(AccountProfileKeys.self) { s, k throws(Failure) in
            switch k {
            case 0: v.name = try s.optionalString()
            case 1: v.tier = try s.optionalEnum(Tier.self)
            case 2: v.mrr = try s.optionalDouble()
            case 3: v.owner = try s.optionalString()
            case 4: v.url = try s.optionalString()
            case 5: v.renewalDate = try s.optionalString()
            default: v.timezone = try s.optionalString()
            }
        }
        return v
    }

    mutating func triggers() throws(Failure) -> [Trigger] {
        var out: [Trigger] = []
        try list { s throws(Failure) in out.append(try s.trigger()) }
        return out
    }

    mutating func trigger() throws(Failure) -> Trigger {
        var v = Trigger(type: .paymentFailed, eventId: "", occurredAt: Timestamp(millisecondsSinceEpoch: 0))
        let seen = try object(TriggerKeys.self) { s, k throws(Failure) in
            switch k {
            case 0: v.type = try s.enumValue(TriggerType.self)
            case 1: v.eventId = try s.string()
            case 2: v.occurredAt = try s.timestamp()
            case 3: v.ref = try s.optionalString()
            case 4: v.amount = try s.optionalDouble()
            case 5: v.currency = try s.optionalString()
            case 6: v.seatsBefore = try s.optionalInt()
            default: v.seatsAfter = try s.optionalInt()
            }
        }
        try Self.requireKeys(seen, 0x7, TriggerKeys.self)
        return v
    }
}
