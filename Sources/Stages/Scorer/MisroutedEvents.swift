import Kafka
import Logging
import Metrics
import WorkerRuntime

/// Events on `account-events` whose Kafka key is not their `account_id` (another id, such as a
/// ticket's, or no key at all, as many producers send). Scored where they landed, they would fork
/// the account's state across partitions (two baselines, two episodes); so they are re-published,
/// as a Kafka Streams repartition topic does, and not scored where they landed.
///
/// - The copy goes to the topic the event came from, keyed by its `account_id` (so it lands on the
///   account's partition), with the event's value and headers unchanged plus
///   `fleet.repartitioned.from: <topic>[<partition>]@<offset>` naming where it landed first. The
///   original's offset is committed only once the copy is acknowledged (an output holds its
///   input's offset). Re-published twice after a crash, the copy is counted once: `event_id`s are
///   deduplicated per account.
/// - A record that already carries that header and whose key still is not its `account_id` is never
///   re-published again (no loop): it goes to the dead-letter topic with code `repartition_loop`.
/// - Counted in `fleet_scorer_misrouted_events_total{reason, outcome}` (`reason`: `missing_key`,
///   `mismatched_key`; `outcome`: `republished`, `dead_lettered`) and logged once per source
///   partition and reason, not per record.
public final class MisroutedEvents {
    /// The header that marks a re-published copy, with where the original landed.
    public static let repartitionedFromHeader = "fleet.repartitioned.from"

    /// Why an event is not where its account is.
    public enum Reason: String, Sendable, CaseIterable {
        /// The record has no key (or an empty one).
        case missingKey = "missing_key"
        /// The record's key is another id than its `account_id`.
        case mismatchedKey = "mismatched_key"
    }

    /// What became of it.
    public enum Outcome: String, Sendable, CaseIterable {
        case republished
        case deadLettered = "dead_lettered"
    }

    private let counters: [String: Counter]
    private let logger: Logger
    /// Sources (topic, partition and reason) already logged.
    private var logged: Set<String> = []

    /// - Parameters:
    ///   - factory: where the counters are made (the process's metrics system by default).
    ///   - logger: where the first misrouted event of each source is logged.
    public init(factory: any MetricsFactory = MetricsSystem.factory, logger: Logger? = nil) {
        var counters: [String: Counter] = [:]
        for reason in Reason.allCases {
            for outcome in Outcome.allCases {
                counters["\(reason.rawValue)/\(outcome.rawValue)"] = Counter(
                    label: "fleet_scorer_misrouted_events_total",
                    dimensions: [("reason", reason.rawValue), ("outcome", outcome.rawValue)], factory: factory)
            }
        }
        self.counters = counters
        self.logger =
            logger
            ?? {
                var l = Logger(label: "ingest-scorer")
                l[metadataKey: "stage"] = "ingest-scorer"
                return l
            }()
    }

    /// The re-published copy of `record` when its key is not `accountId` (emit it and do not score
    /// the event here), or nil when the record is keyed by its account id (score it here).
    /// Throws `repartition_loop` for a copy already re-published once whose key still mismatches.
    public func copy(of record: ConsumedRecord, accountId: String) throws(Rejection) -> OutgoingRecord? {
        if let key = record.key, key.elementsEqual(accountId.utf8) { return nil }  // compared in place, no copy
        let reason: Reason = (record.key?.isEmpty ?? true) ? .missingKey : .mismatchedKey
        let source = "\(record.topicPartition)@\(record.offset)"
        let keyText = record.key.map { String(decoding: $0.prefix(128), as: UTF8.self) }
        if let earlier = record.headers.last(named: Self.repartitionedFromHeader) {
            counters["\(reason.rawValue)/\(Outcome.deadLettered.rawValue)"]?.increment()
            logOnce(record, reason: reason, outcome: .deadLettered, accountId: accountId)
            let keyPart = keyText.map { "key \"\($0)\"" } ?? "no key"
            let origin = earlier.text?.prefix(200) ?? "?"
            throw Rejection(
                code: "repartition_loop",
                reason: "\(keyPart), not its account_id \"\(accountId.prefix(128))\", on a copy already"
                    + " re-published (from \(origin)): not re-published again")
        }
        counters["\(reason.rawValue)/\(Outcome.republished.rawValue)"]?.increment()
        logOnce(record, reason: reason, outcome: .republished, accountId: accountId)
        let marked = record.headers + [KafkaHeader(name: Self.repartitionedFromHeader, text: source)]
        return OutgoingRecord(topic: record.topic, key: Array(accountId.utf8), value: record.value, headers: marked)
    }

    private func logOnce(_ record: ConsumedRecord, reason: Reason, outcome: Outcome, accountId: String) {
        guard logged.insert("\(record.topicPartition) \(reason.rawValue) \(outcome.rawValue)").inserted else { return }
        logger.warning(
            "event not keyed by its account_id (logged once per partition and reason)",
            metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                "reason": "\(reason.rawValue)", "outcome": "\(outcome.rawValue)",
                "account_id": "\(accountId.prefix(128))",
                "key": "\(record.key.map { String(decoding: $0.prefix(128), as: UTF8.self) } ?? "none")",
            ])
    }
}
