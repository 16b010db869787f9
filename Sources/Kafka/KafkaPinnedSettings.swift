import Foundation

/// librdkafka settings the fleet's at-least-once design relies on: fixed by the fleet and refused
/// at start when the environment tries to change them (`KAFKA_*`, `KAFKA_CONSUMER_*`,
/// `KAFKA_PRODUCER_*`), naming the variable and why. An override to the same value (or one of its
/// librdkafka synonyms, such as `acks=-1`) is accepted.
public struct KafkaPinnedSetting: Sendable, Equatable {
    /// Which clients the setting concerns.
    public enum Client: String, Sendable {
        case consumer
        case producer
    }

    /// The librdkafka property, e.g. `acks`.
    public let property: String
    /// Its value in the fleet, e.g. `all`.
    public let value: String
    /// Values librdkafka treats as the same one (lower case), `value` included.
    public let synonyms: [String]
    /// The client it concerns.
    public let client: Client
    /// Why it must not change, in one sentence an operator can act on.
    public let reason: String

    /// Whether `candidate` means the pinned value.
    public func accepts(_ candidate: String) -> Bool {
        synonyms.contains(candidate.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// The settings pinned in every worker.
    public static let all: [KafkaPinnedSetting] = [
        KafkaPinnedSetting(
            property: "acks", value: "all", synonyms: ["all", "-1"], client: .producer,
            reason: "an input offset is committed once its outputs are acknowledged; with fewer than all in-sync "
                + "replicas acknowledging, a broker failure loses outputs whose input is already committed"),
        KafkaPinnedSetting(
            property: "request.required.acks", value: "all", synonyms: ["all", "-1"], client: .producer,
            reason: "it is librdkafka's other name for acks, which must stay all (see acks)"),
        KafkaPinnedSetting(
            property: "enable.idempotence", value: "true", synonyms: ["true"], client: .producer,
            reason: "a produce retried after a timeout or a broker failover must not write a record twice nor "
                + "reorder a partition (the delivery log and the changelogs rely on order)"),
        KafkaPinnedSetting(
            property: "enable.auto.offset.store", value: "false", synonyms: ["false"], client: .consumer,
            reason: "the worker stores an offset only after everything its record caused is acknowledged; "
                + "librdkafka storing it at poll would commit records whose outputs are not yet written"),
        KafkaPinnedSetting(
            property: "enable.auto.commit", value: "true", synonyms: ["true"], client: .consumer,
            reason: "the offsets the worker stores are committed by librdkafka's commit timer; without it "
                + "nothing is committed between rebalances and a restart re-reads everything since"),
        KafkaPinnedSetting(
            property: "auto.offset.reset", value: "earliest", synonyms: ["earliest", "smallest", "beginning"],
            client: .consumer,
            reason: "a new consumer group, or an offset the topic no longer holds, must start from the oldest "
                + "record; starting from the latest silently skips every record in between"),
    ]

    /// The pinned setting `property` would change to `value` for `client`, if any.
    public static func violated(property: String, value: String, client: Client) -> KafkaPinnedSetting? {
        all.first { $0.property == property && $0.client == client && !$0.accepts(value) }
    }
}
