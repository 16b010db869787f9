import Kafka
import Stages
import Synchronization
import WorkerRuntime

/// What replaying one dead letter would do: the record to send, or why it is refused, and what
/// keeps the replay idempotent.
public struct ReplayItem: Sendable {
    /// The dead letter.
    public var entry: DeadLetterEntry
    /// The record to send; nil when refused.
    public var record: OutgoingRecord?
    /// Why the dead letter is not replayed (truncated, no source and no target).
    public var refusal: String?
    /// Why replaying it twice, or replaying something already handled, does no harm.
    public var note: String

    /// One line for a person (never the value).
    public var description: String {
        let id = "\(entry.record.topic)[\(entry.record.partition)]@\(entry.record.offset)"
        if let refusal { return "\(id): refused: \(refusal)" }
        guard let record else { return "\(id): nothing to send" }
        let partition = record.partition.map { "[\($0)]" } ?? " (partition by key)"
        return "\(id) -> \(record.topic)\(partition) key \(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"), \(record.value?.count ?? 0) B: \(note)"
    }
}

/// Re-drives dead letters to their source topic (or another) once the cause is fixed.
///
/// - The original key, value and headers are sent; the `dlt.*` headers and the dispatcher's retry
///   counters (`fleet.retry.attempt`, `.due`) are removed, so the record is a fresh input with a
///   fresh retry budget (attempt 0, due now); `fleet.replayed.from` names the dead letter it came from.
/// - The attempt history is kept: the dead letter's `fleet.retry.history` (every attempt, the last
///   one included) is carried with a `replayed from <dead letter>` mark appended, so the dispatcher
///   continues it (new attempts are appended after the mark, numbered from 1 again), a dead letter
///   of the replay shows the whole story, and the delivery log's `retries` counts the earlier
///   attempts too (`RetryHeaders.attempts(inHistory:)`): a replayed alert delivered at once logs
///   the attempts it took before it was dead-lettered, not 0.
/// - A dead letter from a retry topic (`alerts-retry-N`) goes back to the main input (`alerts`).
/// - To its own topic it keeps its source partition: `alerts` and `alerts-delivered` are
///   co-partitioned, so the dispatcher that reads the alert holds its delivery log. To another
///   topic the partition is chosen by key.
/// - A replayed alert keeps its alert id and a replayed event its event id: the dispatcher's
///   delivery log skips an alert already delivered, the scorer counts an event once.
/// - A truncated dead letter (`dlt.truncated`) holds only a prefix of the original and is refused.
public enum DeadLetterReplay {
    /// Header naming the dead letter a replayed record came from: `alerts-dlt[0]@17`.
    public static let replayedFromHeader = "fleet.replayed.from"

    /// The replay of `entries` to their source topics, or to `target` when given.
    public static func plan(_ entries: [DeadLetterEntry], to target: String? = nil) -> [ReplayItem] {
        entries.map { plan($0, to: target) }
    }

    /// The replay of one dead letter.
    public static func plan(_ entry: DeadLetterEntry, to target: String? = nil) -> ReplayItem {
        let note: String
        switch entry.subject {
        case let .alert(id, _, _, destination)?:
            note = "keeps alert id \(id): the dispatcher skips it if alerts-delivered holds \(id)|\(destination)"
        case let .event(id, _)?:
            note = "keeps event id \(id): the scorer counts it once"
        case nil:
            note = "sent as it was read"
        }
        if entry.truncated {
            return ReplayItem(entry: entry, refusal: "truncated dead letter (dlt.truncated): only \(entry.record.value?.count ?? 0) of \(entry.originalSize) bytes were kept; the original must be re-published from its producer", note: note)
        }
        guard entry.record.value != nil else {
            return ReplayItem(entry: entry, refusal: "no value to replay", note: note)
        }
        guard let destinationTopic = target ?? entry.sourceTopic.map(mainTopic(of:)) else {
            return ReplayItem(entry: entry, refusal: "no dlt.source.topic header: name a topic with --to", note: note)
        }
        let samePartitioning = entry.sourceTopic.map { destinationTopic == $0 || destinationTopic == mainTopic(of: $0) } ?? false
        let from = "\(entry.record.topic)[\(entry.record.partition)]@\(entry.record.offset)"
        let history = entry.record.headers.last(named: RetryHeaders.history)?.text ?? ""
        var headers = entry.record.headers.filter { !$0.name.hasPrefix("dlt.") && !$0.name.hasPrefix("fleet.retry.") && $0.name != replayedFromHeader }
        if !history.isEmpty {
            headers.append(KafkaHeader(name: RetryHeaders.history, text: history + "; " + RetryHeaders.replayMark(from: from)))
        }
        headers.append(KafkaHeader(name: replayedFromHeader, text: from))
        let record = OutgoingRecord(topic: destinationTopic, partition: samePartitioning ? entry.sourcePartition : nil,
                                    key: entry.record.key, value: entry.record.value, headers: headers)
        return ReplayItem(entry: entry, record: record, note: note)
    }

    /// `alerts` for `alerts-retry-N` (with any prefix); the topic itself otherwise.
    public static func mainTopic(of topic: String) -> String {
        guard let range = topic.range(of: "-retry-", options: .backwards),
              !topic[range.upperBound...].isEmpty, topic[range.upperBound...].allSatisfy(\.isNumber) else { return topic }
        return String(topic[..<range.lowerBound])
    }

    /// Sends every planned record (refused items are skipped) and waits for each acknowledgement.
    /// Returns how many were sent; throws `OpsError.sendFailed` if any could not be.
    public static func send(_ items: [ReplayItem], producer: KafkaProducer) async throws -> Int {
        let records = items.compactMap(\.record)
        let failures = Mutex<[String]>([])
        for record in records {
            try producer.send(record) { result in
                if case let .failure(error) = result { failures.withLock { $0.append("\(error)") } }
            }
        }
        try await producer.flush()
        let failed = failures.withLock { $0 }
        guard failed.isEmpty else {
            throw OpsError.sendFailed(sent: records.count - failed.count, of: records.count, reason: failed[0])
        }
        return records.count
    }
}
