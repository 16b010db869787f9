import Contracts
import Kafka
import Synchronization
import WorkerRuntime

/// What replaying one dead letter would do: the record to send, or why it is refused, and what
/// keeps the replay idempotent.
public struct ReplayItem: Sendable {
    /// The dead letter.
    public var entry: DeadLetterEntry
    /// The record to send; nil when refused.
    public var record: OutgoingRecord?
    /// Why the dead letter is not replayed (truncated, a source that is not its stage's input, an
    /// internal target).
    public var refusal: String?
    /// Why replaying it twice, or replaying something already handled, does no harm.
    public var note: String

    /// One line for a person (never the value).
    public var description: String {
        let id = "\(entry.record.topic)[\(entry.record.partition)]@\(entry.record.offset)"
        if let refusal { return "\(id): refused: \(refusal)" }
        guard let record else { return "\(id): nothing to send" }
        let partition = record.partition.map { "[\($0)]" } ?? " (partition by key)"
        return
            "\(id) -> \(record.topic)\(partition) key \(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"), \(record.value?.count ?? 0) B: \(note)"
    }
}

/// Re-drives dead letters to the input of the stage they came from (or another topic) once the
/// cause is fixed.
///
/// - Where to: a dead letter goes back to the input topic of the stage whose dead-letter topic
///   holds it, from the topic catalog: `alerts-dlt` -> `alerts`, `account-events-dlt` ->
///   `account-events`, `health-scores-dlt` -> `health-scores` (with `TOPIC_PREFIX`). Its
///   `dlt.source.topic` header is not trusted to choose the target (any producer can write any
///   header): a dead letter whose source is neither that input nor one of its retry topics (a
///   state value quarantined from a changelog, a record of another topic) is refused. Another
///   target needs `--to TOPIC`, and no target is ever an internal topic (`internalTopicReason`):
///   changelogs, the delivery log, retry and dead-letter topics, `alert-feedback`. State is
///   never written by a replay.
/// - The original key, value and headers are sent; the `dlt.*` headers and the dispatcher's retry
///   counters (`fleet.retry.attempt`, `.due`) are removed, so the record is a fresh input with a
///   fresh retry budget (attempt 0, due now); `fleet.replayed.from` names the dead letter it came from.
/// - The attempt history is kept: the dead letter's `fleet.retry.history` (every attempt, the last
///   one included) is carried with a `replayed from <dead letter>` mark appended, so the dispatcher
///   continues it (new attempts are appended after the mark, numbered from 1 again), a dead letter
///   of the replay shows the whole story, and the delivery log's `retries` counts the earlier
///   attempts too (`RetryHeaders.attempts(inHistory:)`): a replayed alert delivered at once logs
///   the attempts it took before it was dead-lettered, not 0.
/// - `fleet.delivery.in_doubt_since` is kept: an alert dead-lettered while in doubt (its last post
///   timed out and may have landed) is looked up in its Slack app channel before it is posted again.
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

    /// The replay of `entries` to the input of the stage owning their dead-letter topic, or to
    /// `target` when given (full names, with `prefix`, the `TOPIC_PREFIX`).
    public static func plan(
        _ entries: [DeadLetterEntry], prefix: String = "",
        to target: String? = nil
    ) -> [ReplayItem] {
        entries.map { plan($0, prefix: prefix, to: target) }
    }

    /// The replay of one dead letter (see the rules above).
    public static func plan(_ entry: DeadLetterEntry, prefix: String = "", to target: String? = nil) -> ReplayItem {
        let note: String
        switch entry.subject {
        case .alert(let id, _, _, let destination)?:
            note = "keeps alert id \(id): the dispatcher skips it if alerts-delivered holds \(id)|\(destination)"
        case .event(let id, _)?:
            note = "keeps event id \(id): the scorer counts it once"
        case nil:
            note = "sent as it was read"
        }
        if entry.truncated {
            return ReplayItem(
                entry: entry,
                refusal:
                    "truncated dead letter (dlt.truncated): only \(entry.record.value?.count ?? 0) of \(entry.originalSize) bytes were kept; the original must be re-published from its producer",
                note: note)
        }
        guard entry.record.value != nil else {
            return ReplayItem(entry: entry, refusal: "no value to replay", note: note)
        }
        let destinationTopic: String
        if let target {
            if let why = internalTopicReason(target, prefix: prefix) {
                return ReplayItem(
                    entry: entry, refusal: "--to \(target): \(why); a replay never writes there", note: note)
            }
            destinationTopic = target
        } else {
            guard let input = inputTopic(ofDeadLetterTopic: entry.record.topic, prefix: prefix) else {
                return ReplayItem(
                    entry: entry,
                    refusal: "\(entry.record.topic) is not a dead-letter topic of the catalog: name a topic with --to",
                    note: note)
            }
            if let source = entry.sourceTopic, mainTopic(of: source) != input {
                return ReplayItem(
                    entry: entry,
                    refusal: "dlt.source.topic \(source) is not \(input), the input of the stage whose dead letters "
                        + "\(entry.record.topic) holds: name a topic with --to",
                    note: note)
            }
            destinationTopic = input
        }
        let samePartitioning =
            entry.sourceTopic.map { destinationTopic == $0 || destinationTopic == mainTopic(of: $0) } ?? false
        let partition = samePartitioning ? entry.sourcePartition.flatMap { $0 >= 0 ? $0 : nil } : nil
        let from = "\(entry.record.topic)[\(entry.record.partition)]@\(entry.record.offset)"
        let history = entry.record.headers.last(named: RetryHeaders.history)?.text ?? ""
        var headers = entry.record.headers.filter {
            !$0.name.hasPrefix("dlt.") && !$0.name.hasPrefix("fleet.retry.") && $0.name != replayedFromHeader
        }
        if !history.isEmpty {
            headers.append(
                KafkaHeader(name: RetryHeaders.history, text: history + "; " + RetryHeaders.replayMark(from: from)))
        }
        headers.append(KafkaHeader(name: replayedFromHeader, text: from))
        let record = OutgoingRecord(
            topic: destinationTopic, partition: partition, key: entry.record.key, value: entry.record.value,
            headers: headers)
        return ReplayItem(entry: entry, record: record, note: note)
    }

    /// The input topic of the stage whose dead letters `topic` holds (full names with `prefix`):
    /// `alerts-dlt` -> `alerts`, `account-events-dlt` -> `account-events`, `health-scores-dlt` ->
    /// `health-scores`; nil for any other topic.
    public static func inputTopic(ofDeadLetterTopic topic: String, prefix: String) -> String? {
        let inputs: [String: String] = [
            FleetTopics.alertsDLT: FleetTopics.alerts,
            FleetTopics.accountEventsDLT: FleetTopics.accountEvents,
            FleetTopics.healthScoresDLT: FleetTopics.healthScores,
        ]
        guard topic.hasPrefix(prefix), let input = inputs[String(topic.dropFirst(prefix.count))] else { return nil }
        return prefix + input
    }

    /// Why `topic` (a full name, with `prefix`) is internal and never a replay's target, or nil:
    /// a changelog (`*-state`, `*-changelog`), the delivery log, a retry topic (`*-retry-N`), a
    /// dead-letter topic (`*-dlt`) or `alert-feedback` (written by the dispatcher alone).
    public static func internalTopicReason(_ topic: String, prefix: String) -> String? {
        let name = topic.hasPrefix(prefix) ? String(topic.dropFirst(prefix.count)) : topic
        if [FleetTopics.scorerState, FleetTopics.evaluatorState, FleetTopics.dispatcherState].contains(name)
            || name.hasSuffix("-state") || name.hasSuffix("-changelog")
        {
            return "\(topic) is a state changelog"
        }
        if name == FleetTopics.alertsDelivered { return "\(topic) is the dispatcher's delivery log" }
        if mainTopic(of: name) != name {
            return "\(topic) is a retry topic (its records carry the dispatcher's retry headers)"
        }
        if name.hasSuffix("-dlt") { return "\(topic) is a dead-letter topic" }
        if name == FleetTopics.alertFeedback {
            return "\(topic) holds the verdicts of the feedback links (written by the dispatcher alone)"
        }
        return nil
    }

    /// `alerts` for `alerts-retry-N` (with any prefix); the topic itself otherwise.
    public static func mainTopic(of topic: String) -> String {
        guard let range = topic.range(of: "-retry-", options: .backwards),
            !topic[range.upperBound...].isEmpty, topic[range.upperBound...].allSatisfy(\.isNumber)
        else { return topic }
        return String(topic[..<range.lowerBound])
    }

    /// Sends every planned record (refused items are skipped) and waits for each acknowledgement.
    /// Returns how many were sent; throws `OpsError.sendFailed` if any could not be.
    public static func send(_ items: [ReplayItem], producer: KafkaProducer) async throws -> Int {
        let records = items.compactMap(\.record)
        let failures = Mutex<[String]>([])
        for record in records {
            try producer.send(record) { result in
                if case .failure(let error) = result { failures.withLock { $0.append("\(error)") } }
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
