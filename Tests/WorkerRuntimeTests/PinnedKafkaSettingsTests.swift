import Kafka
import Testing

@testable import WorkerRuntime

/// Issue 23: the librdkafka settings the at-least-once design relies on cannot be changed from
/// the environment; a worker told to refuses to start, naming the variable and why.
@Suite struct PinnedKafkaSettingsTests {
    static let brokers = ["KAFKA_BROKERS": "localhost:9092"]

    @Test(arguments: [
        ("KAFKA_ACKS", "1", "acks"),
        ("KAFKA_PRODUCER_ACKS", "0", "acks"),
        ("KAFKA_REQUEST_REQUIRED_ACKS", "1", "request.required.acks"),
        ("KAFKA_ENABLE_IDEMPOTENCE", "false", "enable.idempotence"),
        ("KAFKA_PRODUCER_ENABLE_IDEMPOTENCE", "false", "enable.idempotence"),
        ("KAFKA_ENABLE_AUTO_OFFSET_STORE", "true", "enable.auto.offset.store"),
        ("KAFKA_CONSUMER_ENABLE_AUTO_OFFSET_STORE", "true", "enable.auto.offset.store"),
        ("KAFKA_CONSUMER_ENABLE_AUTO_COMMIT", "false", "enable.auto.commit"),
        ("KAFKA_AUTO_OFFSET_RESET", "latest", "auto.offset.reset"),
        ("KAFKA_CONSUMER_AUTO_OFFSET_RESET", "largest", "auto.offset.reset"),
    ])
    func anOverrideOfAPinnedSettingStopsTheWorkerNamingTheVariableAndWhy(
        variable: String, value: String, property: String
    ) {
        #expect {
            _ = try WorkerSettings.fromEnvironment(
                stage: "s", Self.brokers.merging([variable: value]) { _, new in new })
        } throws: { error in
            let text = "\(error)"
            return text.contains(variable) && text.contains("\(property) is pinned")
                && text.contains("Remove \(variable)")
        }
    }

    @Test func theSameValueOrASynonymIsAccepted() throws {
        let env = Self.brokers.merging([
            "KAFKA_ACKS": "-1", "KAFKA_PRODUCER_ENABLE_IDEMPOTENCE": "TRUE",
            "KAFKA_CONSUMER_ENABLE_AUTO_OFFSET_STORE": "false",
            "KAFKA_CONSUMER_AUTO_OFFSET_RESET": "smallest", "KAFKA_CONSUMER_ENABLE_AUTO_COMMIT": "true",
        ]) { _, new in new }
        let settings = try WorkerSettings.fromEnvironment(stage: "s", env)
        #expect(settings.producerConfiguration["acks"] == "-1")
    }

    /// Settings of a client the property does not concern are left to librdkafka (it ignores a
    /// producer property on a consumer).
    @Test func aPinnedPropertyOfTheOtherClientIsNotRefused() throws {
        _ = try WorkerSettings.fromEnvironment(
            stage: "s", Self.brokers.merging(["KAFKA_CONSUMER_ACKS": "1"]) { _, new in new })
    }

    /// The clients the worker builds carry the pinned values when the environment says nothing.
    @Test func theClientDefaultsAreThePinnedValues() {
        for pinned in KafkaPinnedSetting.all where pinned.property != "request.required.acks" {
            let defaults = pinned.client == .consumer ? KafkaConsumer.defaults : KafkaProducer.defaults
            #expect(
                defaults[pinned.property].map(pinned.accepts) == true,
                "\(pinned.property) default \(defaults[pinned.property] ?? "unset")")
        }
    }
}
