import Contracts
import Foundation
import Kafka
import WorkerRuntime

/// One record of a dead-letter topic, read back: why it was rejected (the `dlt.*` headers), where
/// it came from, the dispatcher's attempt history, its size, and what it is about (an alert or an
/// event) when its value can be read. It never carries a webhook URL out: the value is not printed,
/// and URLs in a reason are masked.
public struct DeadLetterEntry: Sendable {
    /// What a dead letter is about, when its value could be read.
    public enum Subject: Sendable, Hashable {
        /// An alert of `alerts` (the dispatcher's dead letters).
        case alert(id: String, type: String, accountId: String, destination: String)
        /// An account event of `account-events` (the scorer's dead letters).
        case event(id: String, accountId: String?)
    }

    /// The dead letter itself (topic, partition, offset, key, the original value and headers).
    public var record: ConsumedRecord
    /// `dlt.code`, e.g. `invalid_json`, `http_410`, `retries_exhausted`.
    public var code: String
    /// `dlt.reason`, with any URL masked.
    public var reason: String
    /// `dlt.stage`: the stage that rejected it.
    public var stage: String
    /// `dlt.source.topic`: the topic the rejected record was read from.
    public var sourceTopic: String?
    /// `dlt.source.partition`.
    public var sourcePartition: Int32?
    /// `dlt.source.offset` (absent for what was not a consumed record, e.g. a timer's output).
    public var sourceOffset: Int64?
    /// The dispatcher's attempts (`fleet.retry.history`), oldest first: `1 http_503 2026-...`.
    public var history: [String]
    /// `dlt.truncated`: only a prefix of the original value was kept; it cannot be replayed.
    public var truncated: Bool
    /// Size of the original value in bytes (`dlt.original.size` when truncated).
    public var originalSize: Int
    /// What the dead letter is about, when its value could be read (never for a truncated one).
    public var subject: Subject?

    /// When the dead letter was written (the record's timestamp), if known.
    public var time: Timestamp? { record.timestamp.map { Timestamp(millisecondsSinceEpoch: $0) } }

    /// Reads the `dlt.*` and retry headers of a dead-letter record.
    public init(_ record: ConsumedRecord) {
        self.record = record
        let h = record.headers
        code = h.last(named: DeadLetter.codeHeader)?.text ?? "unknown"
        reason = Self.maskingURLs(h.last(named: DeadLetter.reasonHeader)?.text ?? "")
        stage = h.last(named: DeadLetter.stageHeader)?.text ?? "unknown"
        sourceTopic = h.last(named: DeadLetter.topicHeader)?.text
        sourcePartition = h.last(named: DeadLetter.partitionHeader)?.text.flatMap { Int32($0) }
        sourceOffset = h.last(named: DeadLetter.offsetHeader)?.text.flatMap { Int64($0) }
        history = (h.last(named: RetryHeaders.history)?.text ?? "").split(separator: ";").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        truncated = h.last(named: DeadLetter.truncatedHeader)?.text == "true"
        originalSize =
            h.last(named: DeadLetter.originalSizeHeader)?.text.flatMap { Int($0) } ?? (record.value?.count ?? 0)
        subject = truncated ? nil : Self.subject(of: record.value)
    }

    /// When the alert's last post was about to start, if it was in doubt when dead-lettered
    /// (`fleet.delivery.in_doubt_since`; a value outside the years 1970-9999 is not shown).
    public var inDoubtSince: Timestamp? {
        guard let ms = record.headers.last(named: RetryHeaders.inDoubtSince)?.text.flatMap({ Int64($0) }),
            (0...253_402_300_799_999).contains(ms)
        else { return nil }
        return Timestamp(millisecondsSinceEpoch: ms)
    }

    /// The alert's destination, for alerts.
    public var destination: String? {
        if case .alert(_, _, _, let destination) = subject { return destination }
        return nil
    }

    private static func subject(of value: [UInt8]?) -> Subject? {
        guard let value, !value.isEmpty else { return nil }
        if let alert = try? RecordCoding.decode(AlertRecord.self, from: value) {
            return .alert(
                id: alert.alertId, type: alert.type.rawValue, accountId: alert.accountId, destination: alert.destination
            )
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any],
            let id = object["event_id"] as? String
        else { return nil }
        return .event(id: id, accountId: object["account_id"] as? String)
    }

    /// Replaces every `http://...` or `https://...` in `text` with `<url>`: a reason text must never
    /// carry a webhook URL to a terminal.
    public static func maskingURLs(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: "http", options: .caseInsensitive) {
            let after = rest[range.upperBound...]
            let scheme = after.lowercased().hasPrefix("s://") ? 4 : (after.hasPrefix("://") ? 3 : -1)
            guard scheme > 0 else {
                out += rest[..<range.upperBound]
                rest = after
                continue
            }
            out += rest[..<range.lowerBound] + "<url>"
            rest = after.dropFirst(scheme).drop { !$0.isWhitespace && $0 != "\"" && $0 != ")" && $0 != ">" }
        }
        return out + rest
    }

    /// Several lines for a person: where it is, why, where it came from, what it is about, attempts.
    public var description: String {
        var lines: [String] = []
        let from =
            sourceTopic.map {
                "\($0)[\(sourcePartition.map(String.init) ?? "?")]@\(sourceOffset.map(String.init) ?? "?")"
            } ?? "unknown source"
        let size = truncated ? "\(originalSize) B, truncated to \(record.value?.count ?? 0) B" : "\(originalSize) B"
        lines.append(
            "\(record.topic)[\(record.partition)]@\(record.offset)  \(time?.rfc3339 ?? "-")  code \(code)  stage \(stage)  from \(from)  size \(size)"
        )
        if !reason.isEmpty { lines.append("  reason: \(reason)") }
        switch subject {
        case .alert(let id, let type, let account, let destination)?:
            lines.append("  alert \(id) (\(type)) account \(account) -> \(destination)")
        case .event(let id, let account)?: lines.append("  event \(id)\(account.map { " account \($0)" } ?? "")")
        case nil: break
        }
        if !history.isEmpty { lines.append("  attempts: " + history.joined(separator: "; ")) }
        if let since = inDoubtSince {
            lines.append(
                "  in doubt since \(since.rfc3339): its last post may have landed; "
                    + "a replay looks it up in a Slack app channel first")
        }
        if truncated { lines.append("  truncated: only a prefix of the original is kept; not replayable") }
        return lines.joined(separator: "\n")
    }
}

/// Which dead letters an inspect or a replay takes: all filters given must hold.
public struct DeadLetterFilter: Sendable {
    /// `dlt.code` values; empty takes every code.
    public var codes: Set<String> = []
    /// Only dead letters written at or after this time.
    public var since: Timestamp?
    /// Only records with this key (the account id of an event, the destination of an alert).
    public var key: String?
    /// Only alerts for this destination.
    public var destination: String?

    /// A filter; nil or empty parts take everything.
    public init(codes: Set<String> = [], since: Timestamp? = nil, key: String? = nil, destination: String? = nil) {
        self.codes = codes
        self.since = since
        self.key = key
        self.destination = destination
    }

    /// Whether `entry` passes every filter given.
    public func matches(_ entry: DeadLetterEntry) -> Bool {
        if !codes.isEmpty, !codes.contains(entry.code) { return false }
        if let since, (entry.time ?? Timestamp(millisecondsSinceEpoch: .min)) < since { return false }
        if let key, entry.record.keyString != key { return false }
        if let destination, entry.destination != destination { return false }
        return true
    }
}
