import EventInputs
import FleetConfig
import Foundation
import Kafka
import Metrics
import WorkerRuntime

/// The input topics of the inputs file (`INPUTS_FILE`): each record normalised to a native account
/// event by its topic's format and re-published onto `account-events` keyed by its account id (a
/// repartition, as Kafka Streams does), where it is scored like any event. Its offset is committed
/// once the copy is acknowledged; a copy published twice after a crash is counted once, since the
/// normalisers are deterministic and `event_id`s are deduplicated per account.
///
/// - The copy carries the record's headers plus `fleet.input.from: <topic>[<partition>]@<offset>`.
/// - A record that cannot be mapped goes to `account-events-dlt` with the field path and what was
///   wrong (`InputRejection`); a tombstone or a record no mapping matches is skipped.
/// - Counted in `fleet_scorer_input_records_total{topic, outcome}` (`outcome`: `republished`,
///   `skipped`, `dead_lettered`).
public final class InputRepartition {
    /// The header naming where a re-published input record came from.
    public static let inputFromHeader = "fleet.input.from"

    /// What became of an input record.
    public enum Outcome: String, Sendable, CaseIterable {
        case republished
        case skipped
        case deadLettered = "dead_lettered"
    }

    /// The normaliser of each input topic (full names).
    public let normalisers: [String: InputNormaliser]
    /// Where the copies go (`account-events` with the prefix).
    public let accountEventsTopic: String
    private let counters: [String: Counter]

    public init(
        inputs: InputsFile, accountEventsTopic: String, factory: any MetricsFactory = MetricsSystem.factory
    ) {
        var normalisers: [String: InputNormaliser] = [:]
        var counters: [String: Counter] = [:]
        for spec in inputs.inputs {
            normalisers[spec.topic] = InputNormaliser(spec: spec)
            for outcome in Outcome.allCases {
                counters["\(spec.topic)/\(outcome.rawValue)"] = Counter(
                    label: "fleet_scorer_input_records_total",
                    dimensions: [("topic", spec.topic), ("outcome", outcome.rawValue)], factory: factory)
            }
        }
        self.normalisers = normalisers
        self.accountEventsTopic = accountEventsTopic
        self.counters = counters
    }

    /// The input topics, in a stable order.
    public var topics: [String] { normalisers.keys.sorted() }

    /// The copy to publish for `record` of an input topic, nil when it is skipped; nil for records
    /// of other topics is not possible (call it for input topics only). Throws the rejection that
    /// sends it to the dead-letter topic.
    public func copy(of record: ConsumedRecord) throws(Rejection) -> OutgoingRecord? {
        guard let normaliser = normalisers[record.topic] else { return nil }
        let result: NormalisedRecord
        do {
            result = try normaliser.normalise(record.value)
        } catch {
            counters["\(record.topic)/\(Outcome.deadLettered.rawValue)"]?.increment()
            throw Rejection(code: error.code, reason: error.description)
        }
        switch result {
        case .skipped:
            counters["\(record.topic)/\(Outcome.skipped.rawValue)"]?.increment()
            return nil
        case .event(let accountId, let value):
            counters["\(record.topic)/\(Outcome.republished.rawValue)"]?.increment()
            let from = KafkaHeader(name: Self.inputFromHeader, text: "\(record.topicPartition)@\(record.offset)")
            return OutgoingRecord(
                topic: accountEventsTopic, key: Array(accountId.utf8), value: value, headers: record.headers + [from])
        }
    }

    /// The inputs file of `INPUTS_FILE`, nil when unset; every problem as `file:line: key: problem`.
    public static func load(env: [String: String]) -> Result<InputsFile?, FleetConfigError> {
        guard let path = env["INPUTS_FILE"], !path.isEmpty else { return .success(nil) }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return .failure(
                FleetConfigError([
                    ConfigProblem(file: path, line: nil, key: "INPUTS_FILE", message: "cannot be read (no such file?)")
                ]))
        }
        do {
            return .success(try InputsFile.parse(yaml: text, file: path))
        } catch {
            guard case .invalidInputsFile(let problems) = error else { return .success(nil) }
            return .failure(
                FleetConfigError(
                    problems.map { ConfigProblem(file: $0.file, line: $0.line, key: $0.key, message: $0.message) }))
        }
    }
}
