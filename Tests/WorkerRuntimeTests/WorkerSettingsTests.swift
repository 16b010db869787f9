import Kafka
import Testing

@testable import WorkerRuntime

@Suite struct WorkerSettingsTests {
    @Test func mapsEnvironmentToLibrdkafkaProperties() throws {
        let settings = try WorkerSettings.fromEnvironment(
            stage: "evaluator",
            [
                "KAFKA_BROKERS": "b1:9093,b2:9093",
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISMS": "SCRAM-SHA-512",
                "KAFKA_SASL_USERNAME": "svc",
                "KAFKA_SASL_PASSWORD": "s3cr3t",
                "KAFKA_CONSUMER_FETCH_MAX_BYTES": "1048576",
                "KAFKA_PRODUCER_LINGER_MS": "20",
                "TOPIC_PREFIX": "prod.",
                "HTTP_PORT": "9000",
            ])
        #expect(settings.kafka["bootstrap.servers"] == "b1:9093,b2:9093")
        #expect(settings.kafka["security.protocol"] == "SASL_SSL")
        #expect(settings.kafka["sasl.mechanisms"] == "SCRAM-SHA-512")
        #expect(settings.consumerConfiguration["fetch.max.bytes"] == "1048576")
        #expect(settings.consumerConfiguration["linger.ms"] == nil)
        #expect(settings.producerConfiguration["linger.ms"] == "20")
        #expect(settings.consumerConfiguration["group.id"] == "evaluator")
        #expect(settings.topic("alerts") == "prod.alerts")
        #expect(settings.httpPort == 9000)
        #expect(!settings.kafka.description.contains("s3cr3t"), "a password reached a description")
        #expect(
            WorkerSettings.propertyName("SSL_ENDPOINT_IDENTIFICATION_ALGORITHM")
                == "ssl.endpoint.identification.algorithm")
        #expect(WorkerSettings.propertyName("A__B_C") == "a_b.c")
    }

    @Test(arguments: [
        (["HTTP_PORT": "80a"], "HTTP_PORT"),
        (["HTTP_PORT": "70000"], "HTTP_PORT"),
        (["LOG_LEVEL": "loud"], "LOG_LEVEL"),
        (["COMMIT_INTERVAL_MS": "0"], "COMMIT_INTERVAL_MS"),
        (["KAFKA_NO_SUCH_THING": "1"], "no.such.thing"),
        (["STANDBY_REPLICAS": "2"], "STANDBY_REPLICAS"),
        (["STANDBY_WARMUP_TIMEOUT_MS": "-1"], "STANDBY_WARMUP_TIMEOUT_MS"),
    ])
    func badSettingsNameTheKeyAndTheProblem(extra: [String: String], mentions: String) {
        var env = ["KAFKA_BROKERS": "localhost:9092"]
        env.merge(extra) { _, new in new }
        #expect {
            _ = try WorkerSettings.fromEnvironment(stage: "s", env)
        } throws: { error in
            "\(error)".contains(mentions) && "\(error)".contains("configuration error in environment")
        }
    }

    @Test func standbyReplicasAreNoneByDefaultAndAllOnRequest() throws {
        let plain = try WorkerSettings.fromEnvironment(stage: "s", ["KAFKA_BROKERS": "localhost:9092"])
        #expect(plain.standby == .none && plain.standbyWarmUpTimeout == .seconds(120))
        let warm = try WorkerSettings.fromEnvironment(
            stage: "s",
            ["KAFKA_BROKERS": "localhost:9092", "STANDBY_REPLICAS": "ALL", "STANDBY_WARMUP_TIMEOUT_MS": "5000"])
        #expect(warm.standby == .all && warm.standbyWarmUpTimeout == .seconds(5))
    }

    @Test func missingBrokersIsNamed() {
        #expect {
            _ = try WorkerSettings.fromEnvironment(stage: "s", [:])
        } throws: { "\($0)".contains("KAFKA_BROKERS") }
    }

    @Test func secretValuesNeverAppearInConfigurationErrors() {
        #expect {
            _ = try WorkerSettings.fromEnvironment(
                stage: "s", ["KAFKA_BROKERS": "x:1", "KAFKA_SASL_PASSWORDS": "hunter2"])
        } throws: { error in
            "\(error)".contains("sasl.passwords") && !"\(error)".contains("hunter2")
        }
    }
}
