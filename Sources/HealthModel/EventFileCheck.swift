import Contracts

/// Checks a file of account events line by line as the ingest-scorer would (the same parser, the
/// same refusal codes as the dead-letter topic, the same future-time bound), without Kafka: what
/// `fleet-admin events validate` prints. Pure: feed it lines, read the findings.
public struct EventFileCheck: Sendable {
    /// One refused line.
    public struct Problem: Sendable, Hashable {
        /// 1-based line number.
        public var line: Int
        /// The dead-letter code (`missing_field`, `future_event_time`, ...).
        public var code: String
        /// The fixed reason text (never echoes the input).
        public var reason: String
    }

    public let parser: EventParser
    /// Event times further ahead of `now` are refused (`future_event_time`), as the runtime does.
    public let maxClockSkewMilliseconds: Int64
    /// The reference clock for the future-time bound (ms since the epoch).
    public let nowMilliseconds: Int64
    /// At most this many problems are kept for printing; all are counted.
    public let keepProblems: Int

    public private(set) var lines = 0
    public private(set) var blankLines = 0
    public private(set) var accepted = 0
    public private(set) var refusedByCode: [String: Int] = [:]
    public private(set) var problems: [Problem] = []
    /// Accepted events per type name the fleet does not know (kept as neutral activity).
    public private(set) var unknownTypes: [String: Int] = [:]
    /// Accepted events per known type.
    public private(set) var types: [String: Int] = [:]
    /// Accepted events whose `event_id` appeared on an earlier line (the scorer counts them once).
    public private(set) var duplicateIds = 0
    private var seenIds: Set<String> = []

    public init(
        parser: EventParser = EventParser(), nowMilliseconds: Int64, maxClockSkewMilliseconds: Int64 = 600_000,
        keepProblems: Int = 100
    ) {
        self.parser = parser
        self.nowMilliseconds = nowMilliseconds
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        self.keepProblems = keepProblems
    }

    /// Refused lines in all.
    public var refused: Int { refusedByCode.values.reduce(0, +) }

    /// Checks the next line (without its newline): the event when it is accepted, nil when it is
    /// refused or blank (blank lines are skipped, as the tools skip them).
    @discardableResult
    public mutating func check(_ line: UnsafeBufferPointer<UInt8>) -> AccountEvent? {
        lines += 1
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
            blankLines += 1
            return nil
        }
        let event: AccountEvent
        do {
            event = try parser.parse(line)
        } catch {
            refuse(error.code.rawValue, error.description)
            return nil
        }
        let (limit, overflow) = nowMilliseconds.addingReportingOverflow(maxClockSkewMilliseconds)
        if !overflow, event.occurredAt.millisecondsSinceEpoch > limit {
            refuse(
                "future_event_time",
                "occurred_at in the future: more than \(maxClockSkewMilliseconds / 1000) s ahead of the wall clock")
            return nil
        }
        accepted += 1
        if event.type == .other {
            unknownTypes[event.typeName, default: 0] += 1
        } else {
            types[event.typeName, default: 0] += 1
        }
        if !seenIds.insert(event.eventId).inserted { duplicateIds += 1 }
        return event
    }

    /// Checks a line given as bytes.
    @discardableResult
    public mutating func check(_ line: [UInt8]) -> AccountEvent? {
        line.withUnsafeBufferPointer { check($0) }
    }

    private mutating func refuse(_ code: String, _ reason: String) {
        refusedByCode[code, default: 0] += 1
        if problems.count < keepProblems { problems.append(Problem(line: lines, code: code, reason: reason)) }
    }

    /// One line: lines checked, accepted, refused by code, unknown types, duplicates.
    public var summary: String {
        let checked = lines - blankLines
        var text = "\(checked) events checked: \(accepted) accepted, \(refused) refused"
        if !refusedByCode.isEmpty {
            text +=
                " ("
                + refusedByCode.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        if !unknownTypes.isEmpty {
            let names = unknownTypes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5)
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            text += "; types the fleet does not know, kept as activity: \(names)"
        }
        if duplicateIds > 0 { text += "; \(duplicateIds) repeated event_id (counted once)" }
        return text
    }
}
