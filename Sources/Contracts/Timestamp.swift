/// An instant in UTC with millisecond precision, as carried by every record of the fleet.
///
/// Timestamps travel as RFC 3339 strings (`2026-11-20T10:00:00Z`). Parsing and formatting are
/// hand-written over UTF-8 bytes: they run for every event, must be deterministic, and must not
/// depend on Foundation's locale-sensitive formatters.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static let millisecondsPerDay: Int64 = 86_400_000

    /// Whole days since 1970-01-01 (floor), the index of the UTC day this instant falls in.
    public var epochDay: Int64 {
        let (q, r) = millisecondsSinceEpoch.quotientAndRemainder(dividingBy: Self.millisecondsPerDay)
        return r < 0 ? q - 1 : q
    }

    /// Day of week of the UTC day, 0 = Monday ... 6 = Sunday.
    public var weekday: Int {
        // 1970-01-01 was a Thursday (index 3).
        let d = (epochDay + 3) % 7
        return Int(d < 0 ? d + 7 : d)
    }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    public func adding(seconds: Int64) -> Timestamp { adding(milliseconds: seconds * 1000) }
    public func adding(days: Int64) -> Timestamp { adding(milliseconds: days * Self.millisecondsPerDay) }

    /// The start (00:00:00Z) of the UTC day `epochDay`.
    public static func startOfDay(_ epochDay: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: epochDay * millisecondsPerDay)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { rfc3339 }
}

// MARK: - Civil calendar (proleptic Gregorian), integer arithmetic only.

extension Timestamp {
    /// Days since 1970-01-01 of the civil date `year-month-day`.
    public static func epochDay(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day index since 1970-01-01.
    public static func civilDate(epochDay: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = epochDay + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public init(
        year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0,
        millisecond: Int64 = 0
    ) {
        let days = Self.epochDay(year: year, month: month, day: day)
        self.init(millisecondsSinceEpoch: ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond)
    }
}

// MARK: - RFC 3339

extension Timestamp {
    /// Parses an RFC 3339 date-time (`2026-11-20T10:00:00Z`, `2026-11-20T10:00:00.123+02:00`).
    /// Fractions beyond milliseconds are truncated. Returns nil for anything else.
    public init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Timestamp(rfc3339Bytes: $0) }) else { return nil }
        self = parsed
    }

    /// Parses RFC 3339 from UTF-8 bytes without allocating.
    public init?(rfc3339Bytes b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        guard n >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int64? {
            let c = b[i]
            return (c >= 48 && c <= 57) ? Int64(c - 48) : nil
        }
        @inline(__always) func number(_ start: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in start..<(start + count) {
                guard let d = digit(i) else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = number(0, 4), b[4] == 45, let month = number(5, 2), b[7] == 45,
            let day = number(8, 2), b[10] == 84 || b[10] == 116 || b[10] == 32,
            let hour = number(11, 2), b[13] == 58, let minute = number(14, 2), b[16] == 58,
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if b[i] == 46 {  // fraction
            i += 1
            var digits = 0
            while i < n, let d = digit(i) {
                if digits < 3 { millis = millis * 10 + d }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 {
                millis *= 10
                digits += 1
            }
        }
        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        switch b[i] {
        case 90, 122:  // Z z
            i += 1
        case 43, 45:  // + -
            guard n - i >= 6, let oh = number(i + 1, 2), b[i + 3] == 58, let om = number(i + 4, 2),
                oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == 45 ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let leap = second == 60 ? Int64(59) : second
        let base = Timestamp(
            year: year, month: month, day: day, hour: hour, minute: minute, second: leap, millisecond: millis)
        let instant = base.millisecondsSinceEpoch - offsetMinutes * 60_000
        // An offset can move the instant out of years 0000-9999, which `rfc3339` cannot write back.
        guard Self.fourDigitYears.contains(instant) else { return nil }
        self.init(millisecondsSinceEpoch: instant)
    }

    /// The instants `rfc3339` writes: 0000-01-01T00:00:00Z through 9999-12-31T23:59:59.999Z.
    static let fourDigitYears =
        epochDay(year: 0, month: 1, day: 1) * millisecondsPerDay..<epochDay(year: 10_000, month: 1, day: 1)
        * millisecondsPerDay

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` only when the milliseconds are not zero.
    public var rfc3339: String {
        let ms = millisecondsSinceEpoch
        let day = epochDay
        let (y, m, d) = Self.civilDate(epochDay: day)
        let msOfDay = ms - day * Self.millisecondsPerDay
        let hh = msOfDay / 3_600_000
        let mm = (msOfDay / 60_000) % 60
        let ss = (msOfDay / 1000) % 60
        let frac = msOfDay % 1000
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int64, _ width: Int) {
            var digits = [UInt8](repeating: 48, count: width)
            var v = v
            var i = width - 1
            while i >= 0 {
                digits[i] = UInt8(48 + v % 10)
                v /= 10
                i -= 1
            }
            out.append(contentsOf: digits)
        }
        put(y, 4)
        out.append(45)
        put(m, 2)
        out.append(45)
        put(d, 2)
        out.append(84)
        put(hh, 2)
        out.append(58)
        put(mm, 2)
        out.append(58)
        put(ss, 2)
        if frac != 0 {
            out.append(46)
            put(frac, 3)
        }
        out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYY-MM-DD` of the UTC day.
    public var dateString: String { String(rfc3339.prefix(10)) }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not RFC 3339: \(text.prefix(40))")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
