import Testing

@testable import WorkerRuntime

/// `WorkerSettings.kafkaVariableProblems`: what `--check-config` and `fleet-admin check-config`
/// report for the `KAFKA_*` environment, every problem named by its variable.
@Suite struct KafkaVariableProblemsTests {
    @Test(
        arguments: [
            // (variable, value, expected start of the reason, or nil when accepted)
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL", nil),
            ("KAFKA_SSL_CA_LOCATION", "/etc/ca.pem", nil),
            ("KAFKA_CONSUMER_FETCH_MAX_BYTES", "1048576", nil),
            ("KAFKA_PRODUCER_LINGER_MS", "20", nil),
            ("KAFKA_BROKERS", "anything", nil),
            ("KAFKA_SECURTY_PROTOCOL", "SSL", "librdkafka refuses securty.protocol: No such configuration property"),
            ("KAFKA_SESSION_TIMEOUT_MS", "soon", "librdkafka refuses session.timeout.ms: Invalid value"),
            (
                "KAFKA_PRODUCER_LINGER_MS", "-5",
                "librdkafka refuses linger.ms: Configuration property \"queue.buffering.max.ms\" value -5 is outside allowed range 0..900000"
            ),
            ("KAFKA_PRODUCER_ACKS", "1", "acks is pinned to all"),
            ("KAFKA_ENABLE_AUTO_COMMIT", "false", "enable.auto.commit is pinned to true"),
            ("KAFKA_", "x", "names no librdkafka property"),
        ] as [(String, String, String?)])
    func eachVariableIsCheckedAlone(variable: String, value: String, reasonStart: String?) {
        let problems = WorkerSettings.kafkaVariableProblems([variable: value])
        if let reasonStart {
            #expect(problems.count == 1 && problems.first?.variable == variable, "\(problems)")
            #expect(problems.first?.reason.hasPrefix(reasonStart) == true, "\(problems)")
        } else {
            #expect(problems.isEmpty, "\(problems)")
        }
    }

    @Test func allProblemsComeBackSortedByVariableAndNoSecretIsShown() {
        let problems = WorkerSettings.kafkaVariableProblems([
            "KAFKA_SASL_PASSWROD": "hunter2-do-not-show",
            "KAFKA_SESSION_TIMEOUT_MS": "soon",
            "KAFKA_ACKS": "0",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LOG_LEVEL": "info",
        ])
        #expect(problems.map(\.variable) == ["KAFKA_ACKS", "KAFKA_SASL_PASSWROD", "KAFKA_SESSION_TIMEOUT_MS"])
        #expect(!problems.contains { $0.reason.contains("hunter2") }, "\(problems)")
    }
}
