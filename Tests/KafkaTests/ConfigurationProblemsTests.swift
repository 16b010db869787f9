import Kafka
import Testing

/// `KafkaConfiguration.problems()`: librdkafka itself judges every property, and all refusals come
/// back at once, never with a secret's value.
@Suite struct ConfigurationProblemsTests {
    @Test(
        arguments: [
            // (property, value, the start of the reason, or nil when librdkafka accepts it)
            ("security.protocol", "SASL_SSL", nil),
            ("linger.ms", "20", nil),
            ("securty.protocol", "SSL", "No such configuration property"),
            ("session.timeout.ms", "soon", "Invalid value"),
            ("security.protocol", "TLS", "Invalid value"),
            ("sasl.passwrd", "hunter2-do-not-show", "No such configuration property"),
        ] as [(String, String, String?)])
    func eachPropertyIsJudgedByLibrdkafka(property: String, value: String, reasonStart: String?) {
        let problems = KafkaConfiguration([property: value]).problems()
        if let reasonStart {
            #expect(problems.count == 1 && problems.first?.property == property, "\(problems)")
            #expect(problems.first?.reason.hasPrefix(reasonStart) == true, "\(problems)")
            #expect(problems.first?.reason.contains("hunter2") == false)
        } else {
            #expect(problems.isEmpty, "\(problems)")
        }
    }

    @Test func everyRefusedPropertyIsReportedNotOnlyTheFirst() {
        let problems = KafkaConfiguration([
            "a.misspelt.property": "1", "linger.ms": "20", "session.timeout.ms": "soon", "zzz.unknown": "x",
        ]).problems()
        #expect(problems.map(\.property) == ["a.misspelt.property", "session.timeout.ms", "zzz.unknown"])
    }

    @Test func aSecretPropertysValueIsNeverInTheReason() {
        // A property named like a secret: only "unknown property", never librdkafka's own text.
        let problems = KafkaConfiguration(["sasl.password.typo": "hunter2-do-not-show"]).problems()
        #expect(problems.count == 1)
        #expect(problems.first?.reason == "unknown property", "\(problems)")
    }
}
