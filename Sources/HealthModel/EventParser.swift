import Contracts

/// Parses and validates one `account-events` record from its raw bytes.
///
/// A hand-written, single-pass scanner over UTF-8 bytes: it validates JSON syntax and UTF-8, bounds
/// nesting and size, decodes only the fields the model uses and skips the rest. It never traps on any
/// input; every refusal is an `EventRejection` whose fixed `reason` names the field and the problem.
/// Measured against Foundation's `JSONSerialization` and `JSONDecoder` in `fleet-admin bench health`.
public struct EventParser: Sendable {
    /// Larger payloads are refused before they are read ("payload over 1 MiB").
    public var maxPayloadBytes: Int
    /// Deeper nesting is refused ("nesting deeper than 64").
    public var maxDepth: Int
    /// Longest accepted `event_id`, `account_id`, `user_id` and short property strings, in bytes.
    public var maxIdBytes: Int

    public init(maxPayloadBytes: Int = 1 << 20, maxDepth: Int = 64, maxIdBytes: Int = 256) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxDepth = maxDepth
        self.maxIdBytes = maxIdBytes
    }

    /// Parses `bytes` (one JSON document; surrounding whitespace and a trailing newline are allowed).
    public func parse(_ bytes: [UInt8]) throws(EventRejection) -> AccountEvent {
        let result: Result<AccountEvent, EventRejection> = bytes.withUnsafeBufferPointer { buffer in
            do throws(EventRejection) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses a UTF-8 string (convenience for tests and tools).
    public func parse(_ text: String) throws(EventRejection) -> AccountEvent {
        try parse(Array(text.utf8))
    }

    /// Parses the bytes in `buffer` without copying them.
    public func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(EventRejection) -> AccountEvent {
        guard buffer.count <= maxPayloadBytes else {
            throw EventRejection(
                .tooLarge, maxPayloadBytes == 1 << 20 ? "payload over 1 MiB" : "payload over \(maxPayloadBytes) bytes")
        }
        var scanner = JSONScanner(bytes: buffer, maxDepth: maxDepth)
        var fields = RawFields()
        try scanner.parseTopLevel(into: &fields)
        return try validate(&fields)
    }

    private func checkedId(_ value: String?, _ key: String, limit: Int) throws(EventRejection) -> String {
        guard let value else { throw EventRejection(.missingField, "\(key): missing") }
        guard !value.isEmpty else { throw EventRejection(.badValue, "\(key): empty") }
        guard value.utf8.count <= limit else { throw EventRejection(.badValue, "\(key): longer than \(limit) bytes") }
        @inline(__always) func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }
        // The parser's strings are native, so their UTF-8 is contiguous: scanned as a buffer, not
        // through the view's iterator (the same bytes either way).
        let control = value.utf8.withContiguousStorageIfAvailable { $0.contains(where: isControl) }
        if control ?? value.utf8.contains(where: isControl) {
            throw EventRejection(.badValue, "\(key): control character")
        }
        return value
    }

    /// The event of the fields found, or the refusal. In place (`inout`): the properties are a large
    /// struct, checked and clamped where they are rather than copied first.
    private func validate(_ f: inout RawFields) throws(EventRejection) -> AccountEvent {
        let eventId = try checkedId(f.eventId, "event_id", limit: maxIdBytes)
        let accountId = try checkedId(f.accountId, "account_id", limit: maxIdBytes)
        let type: EventType
        let typeName: String
        if let known = f.knownType {
            type = known
            typeName = known.name
        } else {
            typeName = try checkedId(f.type, "type", limit: 64)
            type = EventType(name: typeName)
        }
        guard f.occurredAtPresent else { throw EventRejection(.missingField, "occurred_at: missing") }
        guard let occurredAt = f.occurredAt else {
            throw EventRejection(.badTimestamp, "occurred_at: not RFC 3339")
        }
        let year = Timestamp.civilDate(epochDay: occurredAt.epochDay).year
        guard (2000...2199).contains(year) else {
            throw EventRejection(.badTimestamp, "occurred_at: year outside 2000-2199")
        }
        var userId: String?
        if let u = f.userId { userId = try checkedId(u, "user_id", limit: maxIdBytes) }
        switch type {
        case .npsResponse:
            guard let score = f.properties.score else {
                throw EventRejection(.missingField, "properties.score: missing for nps_response")
            }
            guard (0...10).contains(score) else { throw EventRejection(.badValue, "properties.score: not 0-10") }
        case .seatsChanged:
            guard f.properties.seats != nil else {
                throw EventRejection(.missingField, "properties.seats: missing for seats_changed")
            }
        default:
            break
        }
        if let m = f.properties.minutes, !(0...1440).contains(m) {
            throw EventRejection(.badValue, "properties.minutes: not 0-1440")
        }
        if let s = f.properties.sentiment, !(-1...1).contains(s) {
            throw EventRejection(.badValue, "properties.sentiment: not -1..1")
        }
        if let a = f.properties.amount, a < 0 { throw EventRejection(.badValue, "properties.amount: negative") }
        if let m = f.properties.mrr, m < 0 { throw EventRejection(.badValue, "properties.mrr: negative") }
        if let c = f.properties.count, let e = f.properties.errors, e > c {
            throw EventRejection(.badValue, "properties.errors: more than count")
        }
        if let d = f.properties.renewalDate, RenewalDate.epochDay(d) == nil {
            throw EventRejection(.badValue, "properties.renewal_date: not YYYY-MM-DD")
        }
        if type != .npsResponse { f.properties.score = f.properties.score.map { min(max($0, 0), 10) } }
        return AccountEvent(
            eventId: eventId, accountId: accountId, type: type, typeName: typeName,
            occurredAt: occurredAt, userId: userId, properties: f.properties)
    }
}

/// `YYYY-MM-DD` dates (renewal dates).
enum RenewalDate {
    static func epochDay(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == 45, u[7] == 45 else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10), (1...12).contains(m), d >= 1,
            d <= Timestamp.daysInMonthForRenewal(year: y, month: m)
        else { return nil }
        return Timestamp.epochDay(year: y, month: m, day: d)
    }
}

extension Timestamp {
    static func daysInMonthForRenewal(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Fields as found, before validation.
struct RawFields {
    var eventId: String?
    var accountId: String?
    /// A known type, matched on its bytes.
    var knownType: EventType?
    /// The type's text when it is not a known one.
    var type: String?
    var occurredAtPresent = false
    var occurredAt: Timestamp?
    var userId: String?
    var properties = EventProperties()
}

/// The byte-level JSON scanner behind `EventParser`.
struct JSONScanner {
    let b: UnsafeBufferPointer<UInt8>
    let n: Int
    let maxDepth: Int
    var i = 0
    let maxShort = 256
    let maxLong = 4096

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.b = bytes
        self.n = bytes.count
        self.maxDepth = maxDepth
    }

    // MARK: Errors

    func syntax(_ what: String) -> EventRejection {
        if i >= n { return EventRejection(.invalidJSON, "invalid JSON: unexpected end of input", offset: n) }
        return EventRejection(.invalidJSON, "invalid JSON: \(what)", offset: i)
    }

    func deep() -> EventRejection {
        EventRejection(.tooDeep, "nesting deeper than \(maxDepth)", offset: i)
    }

    // MARK: Lexing

    @inline(__always) mutating func skipWhitespace() {
        while i < n {
            let c = b[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    @inline(__always) mutating func expect(_ c: UInt8, _ what: String) throws(EventRejection) {
        guard i < n, b[i] == c else { throw syntax(what) }
        i += 1
    }

    /// A scanned string token: the bytes between the quotes and whether they hold escapes.
    struct Token {
        var start: Int
        var end: Int
        var escaped: Bool
    }

    @inline(__always) static func isHex(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    /// Scans a string starting at its opening quote; validates escapes and UTF-8.
    mutating func scanString() throws(EventRejection) -> Token {
        i += 1  // opening quote
        let start = i
        var escaped = false
        while i < n {
            // A run of plain ASCII (most of any string) is skipped with a local index, which the
            // compiler keeps in a register (`i` is a stored property, written back once per run);
            // the byte that ends the run is judged below as before.
            var j = i
            while j < n, b[j] >= 0x20, b[j] < 0x80, b[j] != 0x22, b[j] != 0x5C { j += 1 }
            i = j
            guard i < n else { break }
            let c = b[i]
            if c == 0x22 {
                let token = Token(start: start, end: i, escaped: escaped)
                i += 1
                return token
            }
            if c == 0x5C {
                escaped = true
                guard i + 1 < n else {
                    i = n
                    throw syntax("")
                }
                switch b[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                    i += 2
                case 0x75:
                    guard i + 5 < n else {
                        i = n
                        throw syntax("")
                    }
                    for k in 2...5 where !Self.isHex(b[i + k]) { throw syntax("bad \\u escape") }
                    i += 6
                default:
                    throw syntax("bad escape in string")
                }
            } else if c < 0x20 {
                throw syntax("control character in string")
            } else if c < 0x80 {
                i += 1
            } else {
                try validateUTF8Sequence()
            }
        }
        throw syntax("")
    }

    /// Validates one multi-byte UTF-8 sequence at `i` and moves past it.
    mutating func validateUTF8Sequence() throws(EventRejection) {
        let c = b[i]
        let bad = EventRejection(.notUTF8, "not UTF-8", offset: i)
        var need = 0
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: need = 2
        case 0xED:
            need = 2
            hi = 0x9F
        case 0xF0:
            need = 3
            lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            hi = 0x8F
        default: throw bad
        }
        guard i + need < n else { throw bad }
        let first = b[i + 1]
        guard first >= lo, first <= hi else { throw bad }
        if need > 1 {
            for k in 2...need where b[i + k] & 0xC0 != 0x80 { throw bad }
        }
        i += need + 1
    }

    @inline(__always) func hexValue(_ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = b[at + k]
            let d: UInt32 = c <= 57 ? UInt32(c - 48) : (c <= 70 ? UInt32(c - 55) : UInt32(c - 87))
            v = v << 4 | d
        }
        return v
    }

    /// The decoded text of a scanned string token.
    func string(_ t: Token) throws(EventRejection) -> String {
        if !t.escaped {
            return String(decoding: UnsafeBufferPointer(rebasing: b[t.start..<t.end]), as: UTF8.self)
        }
        var out = [UInt8]()
        out.reserveCapacity(t.end - t.start)
        var k = t.start
        while k < t.end {
            let c = b[k]
            guard c == 0x5C else {
                out.append(c)
                k += 1
                continue
            }
            let e = b[k + 1]
            switch e {
            case 0x62:
                out.append(0x08)
                k += 2
            case 0x66:
                out.append(0x0C)
                k += 2
            case 0x6E:
                out.append(0x0A)
                k += 2
            case 0x72:
                out.append(0x0D)
                k += 2
            case 0x74:
                out.append(0x09)
                k += 2
            case 0x75:
                var scalar = hexValue(k + 2)
                k += 6
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard k + 1 < t.end, b[k] == 0x5C, b[k + 1] == 0x75 else {
                        throw EventRejection(.invalidJSON, "invalid JSON: lone surrogate in \\u escape", offset: k)
                    }
                    let low = hexValue(k + 2)
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw EventRejection(.invalidJSON, "invalid JSON: lone surrogate in \\u escape", offset: k)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    k += 6
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw EventRejection(.invalidJSON, "invalid JSON: lone surrogate in \\u escape", offset: k)
                }
                guard let u = Unicode.Scalar(scalar) else {
                    throw EventRejection(.invalidJSON, "invalid JSON: bad \\u escape", offset: k)
                }
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                out.append(e)
                k += 2  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the token's raw bytes equal `literal` (keys are compared before any decoding).
    @inline(__always) func equals(_ t: Token, _ literal: StaticString) -> Bool {
        let len = literal.utf8CodeUnitCount
        guard !t.escaped, t.end - t.start == len else { return false }
        let p = literal.utf8Start
        for k in 0..<len where b[t.start + k] != p[k] { return false }
        return true
    }

    /// Scans a JSON number, returning its value; refuses non-finite results.
    mutating func scanNumber() throws(EventRejection) -> Double {
        let start = i
        var negative = false
        if b[i] == 0x2D {
            negative = true
            i += 1
        }
        guard i < n else { throw syntax("") }
        var mantissa: Int64 = 0
        var digits = 0
        if b[i] == 0x30 {
            i += 1
            digits = 1
        } else if b[i] >= 0x31 && b[i] <= 0x39 {
            while i < n, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 18 { mantissa = mantissa * 10 + Int64(b[i] - 0x30) }
                digits += 1
                i += 1
            }
        } else {
            throw syntax("bad number")
        }
        var simple = digits <= 18
        if i < n, b[i] == 0x2E {
            simple = false
            i += 1
            let fracStart = i
            while i < n, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > fracStart else { throw syntax("bad number") }
        }
        if i < n, b[i] == 0x65 || b[i] == 0x45 {
            simple = false
            i += 1
            if i < n, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            let expStart = i
            while i < n, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > expStart else { throw syntax("bad number") }
        }
        if simple { return Double(negative ? -mantissa : mantissa) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw EventRejection(.badValue, "number out of range", offset: start)
        }
        return value
    }

    /// Skips any JSON value, validating it; `depth` is the nesting depth of the value's container.
    mutating func skipValue(depth: Int) throws(EventRejection) {
        guard i < n else { throw syntax("") }
        switch b[i] {
        case 0x22: _ = try scanString()
        case 0x7B:
            guard depth + 1 <= maxDepth else { throw deep() }
            i += 1
            skipWhitespace()
            if i < n, b[i] == 0x7D {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                guard i < n, b[i] == 0x22 else { throw syntax("expected a key") }
                _ = try scanString()
                skipWhitespace()
                try expect(0x3A, "expected ':'")
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard i < n else { throw syntax("") }
                if b[i] == 0x2C {
                    i += 1
                    continue
                }
                if b[i] == 0x7D {
                    i += 1
                    return
                }
                throw syntax("expected ',' or '}'")
            }
        case 0x5B:
            guard depth + 1 <= maxDepth else { throw deep() }
            i += 1
            skipWhitespace()
            if i < n, b[i] == 0x5D {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard i < n else { throw syntax("") }
                if b[i] == 0x2C {
                    i += 1
                    continue
                }
                if b[i] == 0x5D {
                    i += 1
                    return
                }
                throw syntax("expected ',' or ']'")
            }
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        case 0x2D, 0x30...0x39: _ = try scanNumber()
        default: throw syntax("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(EventRejection) {
        let len = word.utf8CodeUnitCount
        guard i + len <= n else {
            i = n
            throw syntax("")
        }
        let p = word.utf8Start
        for k in 0..<len where b[i + k] != p[k] { throw syntax("unexpected character") }
        i += len
    }

    @inline(__always) func isNull() -> Bool {
        i + 4 <= n && b[i] == 0x6E && b[i + 1] == 0x75 && b[i + 2] == 0x6C && b[i + 3] == 0x6C
    }

    // MARK: Typed values

    /// A string value (or null, giving nil); any other JSON type is `wrongType` for `key`.
    mutating func stringValue(_ key: String, limit: Int) throws(EventRejection) -> String? {
        guard i < n else { throw syntax("") }
        if b[i] == 0x22 {
            let t = try scanString()
            guard t.end - t.start <= limit * 6 else {
                throw EventRejection(.badValue, "\(key): longer than \(limit) bytes", offset: t.start)
            }
            let s = try string(t)
            guard s.utf8.count <= limit else {
                throw EventRejection(.badValue, "\(key): longer than \(limit) bytes", offset: t.start)
            }
            return s
        }
        if isNull() {
            i += 4
            return nil
        }
        let at = i
        try skipValue(depth: 2)
        throw EventRejection(.wrongType, "\(key): expected a string", offset: at)
    }

    /// An id that producers send as a string or an integer.
    mutating func idValue(_ key: String) throws(EventRejection) -> String? {
        guard i < n else { throw syntax("") }
        if b[i] == 0x2D || (b[i] >= 0x30 && b[i] <= 0x39) {
            let v = try numberValue(key)
            guard let v, v == v.rounded(), abs(v) < 1e15 else {
                throw EventRejection(.wrongType, "\(key): expected a string", offset: i)
            }
            return String(Int64(v))
        }
        return try stringValue(key, limit: maxShort)
    }

    mutating func numberValue(_ key: String) throws(EventRejection) -> Double? {
        guard i < n else { throw syntax("") }
        let c = b[i]
        if c == 0x2D || (c >= 0x30 && c <= 0x39) {
            do throws(EventRejection) {
                return try scanNumber()
            } catch {
                if error.code == .badValue {
                    throw EventRejection(.badValue, "\(key): number out of range", offset: error.offset)
                }
                throw error
            }
        }
        if isNull() {
            i += 4
            return nil
        }
        let at = i
        try skipValue(depth: 2)
        throw EventRejection(.wrongType, "\(key): expected a number", offset: at)
    }

    mutating func intValue(_ key: String, max: Double = 1e12) throws(EventRejection) -> Int? {
        let at = i
        guard let v = try numberValue(key) else { return nil }
        guard v == v.rounded() else { throw EventRejection(.wrongType, "\(key): expected an integer", offset: at) }
        guard v >= 0, v <= max else { throw EventRejection(.badValue, "\(key): out of range", offset: at) }
        return Int(v)
    }

    mutating func boolValue(_ key: String) throws(EventRejection) -> Bool? {
        guard i < n else { throw syntax("") }
        if b[i] == 0x74 {
            try literal("true")
            return true
        }
        if b[i] == 0x66 {
            try literal("false")
            return false
        }
        if isNull() {
            i += 4
            return nil
        }
        let at = i
        try skipValue(depth: 2)
        throw EventRejection(.wrongType, "\(key): expected true or false", offset: at)
    }

    static let typeNames: [(StaticString, EventType)] = [
        ("login", .login), ("feature_used", .featureUsed), ("session", .session), ("api_call", .apiCall),
        ("nps_response", .npsResponse), ("ticket_opened", .ticketOpened), ("ticket_escalated", .ticketEscalated),
        ("ticket_closed", .ticketClosed), ("payment_failed", .paymentFailed), ("payment_succeeded", .paymentSucceeded),
        ("billing_retry_failed", .billingRetryFailed), ("seats_changed", .seatsChanged),
        ("subscription_cancelled", .subscriptionCancelled), ("champion_left", .championLeft),
        ("account_updated", .accountUpdated),
    ]

    /// The known event type spelled by a string token, matched on its bytes (no allocation).
    func knownType(_ t: Token) -> EventType? {
        for (name, type) in Self.typeNames where equals(t, name) { return type }
        return nil
    }

    // MARK: The document

    mutating func parseTopLevel(into f: inout RawFields) throws(EventRejection) {
        skipWhitespace()
        guard i < n else { throw EventRejection(.invalidJSON, "invalid JSON: empty payload", offset: 0) }
        guard b[i] == 0x7B else {
            let c = b[i]
            var isDocument = c == 0x5B || c == 0x22 || c == 0x2D || (c >= 0x30 && c <= 0x39)
            if c == 0x74 || c == 0x66 || c == 0x6E {  // true, false, null: only if the word is there
                let at = i
                isDocument = (try? literal(c == 0x74 ? "true" : (c == 0x66 ? "false" : "null"))) != nil
                i = at
            }
            if isDocument { throw EventRejection(.notAnObject, "not a JSON object", offset: i) }
            if b[i] >= 0x80 { throw EventRejection(.invalidJSON, "invalid JSON: not a JSON document", offset: i) }
            throw syntax("not a JSON document")
        }
        i += 1
        try members { (s: inout JSONScanner, key: Token) throws(EventRejection) in
            if s.equals(key, "event_id") {
                f.eventId = try s.idValue("event_id")
            } else if s.equals(key, "account_id") {
                f.accountId = try s.idValue("account_id")
            } else if s.equals(key, "type") {
                if s.i < s.n, s.b[s.i] == 0x22 {
                    let t = try s.scanString()
                    if let known = s.knownType(t) {
                        f.knownType = known
                        f.type = nil
                    } else {
                        guard t.end - t.start <= 64 * 6 else {
                            throw EventRejection(.badValue, "type: longer than 64 bytes", offset: t.start)
                        }
                        f.knownType = nil
                        f.type = try s.string(t)
                    }
                } else {
                    f.knownType = nil
                    f.type = try s.stringValue("type", limit: 64)
                }
            } else if s.equals(key, "occurred_at") {
                if s.i < s.n, s.b[s.i] == 0x22 {
                    let t = try s.scanString()
                    f.occurredAtPresent = true
                    if t.escaped {
                        f.occurredAt = Timestamp(rfc3339: try s.string(t))
                    } else {
                        f.occurredAt = Timestamp(rfc3339Bytes: UnsafeBufferPointer(rebasing: s.b[t.start..<t.end]))
                    }
                } else {
                    f.occurredAtPresent = try s.stringValue("occurred_at", limit: 64) != nil
                    f.occurredAt = nil
                }
            } else if s.equals(key, "user_id") {
                f.userId = try s.idValue("user_id")
            } else if s.equals(key, "properties") {
                guard s.i < s.n else { throw s.syntax("") }
                if s.b[s.i] == 0x7B {
                    guard s.maxDepth >= 2 else { throw s.deep() }
                    s.i += 1
                    try s.properties(into: &f.properties)
                } else if s.isNull() {
                    s.i += 4
                } else {
                    let at = s.i
                    try s.skipValue(depth: 1)
                    throw EventRejection(.wrongType, "properties: expected an object", offset: at)
                }
            } else {
                try s.skipValue(depth: 1)
            }
        }
        skipWhitespace()
        guard i == n else { throw syntax("trailing data after the object") }
    }

    /// Walks the members of an object whose `{` was consumed, calling `body` with the scanner at each value.
    mutating func members(_ body: (inout JSONScanner, Token) throws(EventRejection) -> Void) throws(EventRejection) {
        skipWhitespace()
        if i < n, b[i] == 0x7D {
            i += 1
            return
        }
        while true {
            skipWhitespace()
            guard i < n, b[i] == 0x22 else { throw syntax("expected a key") }
            let key = try scanString()
            if key.escaped {
                // Rare and suspicious: an escaped key never matches a known field; its value is skipped.
                _ = try string(key)
                skipWhitespace()
                try expect(0x3A, "expected ':'")
                skipWhitespace()
                try skipValue(depth: 2)
            } else {
                skipWhitespace()
                try expect(0x3A, "expected ':'")
                skipWhitespace()
                try body(&self, key)
            }
            skipWhitespace()
            guard i < n else { throw syntax("") }
            if b[i] == 0x2C {
                i += 1
                continue
            }
            if b[i] == 0x7D {
                i += 1
                return
            }
            throw syntax("expected ',' or '}'")
        }
    }

    mutating func properties(into p: inout EventProperties) throws(EventRejection) {
        try members { (s: inout JSONScanner, key: Token) throws(EventRejection) in
            let len = key.end - key.start
            switch len {
            case 3 where s.equals(key, "mrr"): p.mrr = try s.numberValue("properties.mrr")
            case 3 where s.equals(key, "url"): p.url = try s.stringValue("properties.url", limit: s.maxLong)
            case 4 where s.equals(key, "name"): p.name = try s.stringValue("properties.name", limit: s.maxShort)
            case 4 where s.equals(key, "tier"):
                if let t = try s.stringValue("properties.tier", limit: 64) {
                    guard let tier = Tier(rawValue: t) else {
                        throw EventRejection(.badValue, "properties.tier: not enterprise, mid_market or smb")
                    }
                    p.tier = tier
                }
            case 5 where s.equals(key, "count"): p.count = try s.intValue("properties.count")
            case 5 where s.equals(key, "owner"): p.owner = try s.stringValue("properties.owner", limit: s.maxShort)
            case 5 where s.equals(key, "score"):
                let at = s.i
                guard let v = try s.numberValue("properties.score") else { break }
                guard v == v.rounded(), v >= -1e9, v <= 1e9 else {
                    throw EventRejection(.badValue, "properties.score: not 0-10", offset: at)
                }
                p.score = Int(v)
            case 5 where s.equals(key, "seats"): p.seats = try s.intValue("properties.seats", max: 10_000_000)
            case 6 where s.equals(key, "errors"): p.errors = try s.intValue("properties.errors")
            case 6 where s.equals(key, "amount"): p.amount = try s.numberValue("properties.amount")
            case 6 where s.equals(key, "status"): p.status = try s.stringValue("properties.status", limit: 64)
            case 7 where s.equals(key, "feature"):
                p.feature = try s.stringValue("properties.feature", limit: s.maxShort)
            case 7 where s.equals(key, "minutes"): p.minutes = try s.numberValue("properties.minutes")
            case 8 where s.equals(key, "currency"): p.currency = try s.stringValue("properties.currency", limit: 16)
            case 8 where s.equals(key, "priority"):
                if s.i < s.n, s.b[s.i] == 0x22 || s.isNull() {
                    p.priority = try s.stringValue("properties.priority", limit: 64)
                } else {
                    p.priority = try s.idValue("properties.priority")
                }
            case 8 where s.equals(key, "timezone"): p.timezone = try s.stringValue("properties.timezone", limit: 64)
            case 9 where s.equals(key, "ticket_id"): p.ticketId = try s.idValue("properties.ticket_id")
            case 9 where s.equals(key, "sentiment"): p.sentiment = try s.numberValue("properties.sentiment")
            case 10 where s.equals(key, "payment_id"): p.paymentId = try s.idValue("properties.payment_id")
            case 10 where s.equals(key, "invoice_id"): p.invoiceId = try s.idValue("properties.invoice_id")
            case 12 where s.equals(key, "renewal_date"):
                p.renewalDate = try s.stringValue("properties.renewal_date", limit: 64)
            case 22 where s.equals(key, "cancellation_scheduled"):
                p.cancellationScheduled = try s.boolValue("properties.cancellation_scheduled")
            default: try s.skipValue(depth: 2)
            }
        }
    }
}
