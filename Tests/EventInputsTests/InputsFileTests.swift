import EventInputs
import Foundation
import Testing

/// The inputs file: the shipped one is clean; each mistake is refused with its file, line and key.
@Suite struct InputsFileTests {
    @Test func theShippedFileParses() throws {
        let file = try shippedInputs()
        #expect(file.inputs.map(\.format) == [.native, .debezium, .debezium, .segment, .mapping, .mapping])
        #expect(file.inputs.allSatisfy { $0.format == .native || !$0.rules.isEmpty })
    }

    /// One wrong line in an otherwise good file: the problem at `line`, `key`, with `message` in its text.
    @Test(arguments: [
        ("    type: ticket_openned", 7, "inputs[0].mappings[0].type", "is not an event type"),
        ("    properties: {seat: after.seats}", 7, "inputs[0].mappings[0].properties.seat", "not a property"),
        ("    occurred_at: {path: t, unit: weeks}", 7, "inputs[0].mappings[0].occurred_at.unit", "s, ms or us"),
        ("    occurred_at: {path: t, scale: -1}", 7, "inputs[0].mappings[0].occurred_at.scale", "positive"),
        ("    occurred_at: \"{t\"", 7, "inputs[0].mappings[0].occurred_at", "not a template"),
        ("    occurred_at: a..b", 7, "inputs[0].mappings[0].occurred_at", "not a field path"),
        ("    occurred_at: {path: t, value: 1}", 7, "inputs[0].mappings[0].occurred_at", "exactly one"),
        ("    colour: red", 7, "inputs[0].mappings[0].colour", "unknown key"),
        ("    present: [\"a..b\"]", 7, "inputs[0].mappings[0].present", "not a field path"),
    ])
    func aWrongLineIsNamed(line: String, number: Int, key: String, message: String) {
        let yaml = """
            inputs:
              - topic: stripe-events
                format: mapping
                mappings:
                  - type: payment_failed
                    event_id: id
                \(line)
                    account_id: data.object.customer
                    occurred_at: created
            """
        // A line may set occurred_at a second time: the duplicate is reported instead, so skip those.
        let problems = InputsFile.problems(yaml: yaml, file: "inputs.yaml")
        let expected = problems.first { $0.key == key || $0.message.contains("duplicate") }
        #expect(expected != nil, "\(problems)")
        guard let found = expected, !found.message.contains("duplicate") else { return }
        #expect(found.file == "inputs.yaml")
        #expect(found.line == number, "\(found)")
        #expect(found.message.contains(message), "\(found)")
        #expect(found.description.hasPrefix("inputs.yaml:\(number): \(key): "))
    }

    @Test(arguments: [
        ("inputs: []\nextra: 1", "extra", "unknown key"),
        ("inputs: 3", "inputs", "a list"),
        ("other: 1", "inputs", "missing"),
        ("inputs:\n  - topic: a\n    format: csv", "inputs[0].format", "is not native"),
        ("inputs:\n  - topic: a b\n    format: native", "inputs[0].topic", "topic name"),
        ("inputs:\n  - topic: a\n    format: native\n  - topic: a\n    format: native", "inputs[1].topic", "twice"),
        ("inputs:\n  - topic: a\n    format: debezium", "inputs[0].tables", "missing"),
        (
            "inputs:\n  - topic: a\n    format: debezium\n    tables:\n      - type: login\n        event_id: x\n        account_id: y",
            "inputs[0].tables[0].table", "missing"
        ),
        (
            "inputs:\n  - topic: a\n    format: debezium\n    tables:\n      - table: t\n        op: x\n        type: login\n        event_id: x\n        account_id: y",
            "inputs[0].tables[0].op", "c, u, d or r"
        ),
        (
            "inputs:\n  - topic: a\n    format: mapping\n    mappings:\n      - type: login\n        event_id: x",
            "inputs[0].mappings[0].account_id", "missing"
        ),
        (
            "inputs:\n  - topic: a\n    format: segment\n    events:\n      Signed In: logged_in",
            "inputs[0].events.Signed In",
            "not an event type"
        ),
        ("inputs:\n  - topic: a\n    format: segment", "inputs[0]", "maps nothing"),
        (
            "inputs:\n  - topic: a\n    format: native\n    unmatched: drop", "inputs[0].unmatched",
            "skip or dead_letter"
        ),
        ("inputs:\n  - topic: a\n    format: native\n    mappings: []", "inputs[0].mappings", "unknown key"),
        ("inputs: [", "(syntax)", "not valid YAML"),
        ("", "(top level)", "empty"),
    ])
    func wrongFilesAreRefused(yaml: String, key: String, message: String) {
        let problems = InputsFile.problems(yaml: yaml, file: "f.yaml")
        #expect(
            problems.contains { $0.key == key && $0.message.contains(message) },
            "expected \(key): ...\(message)... in \(problems)")
    }

    @Test func everyProblemIsReportedNotOnlyTheFirst() {
        let yaml = """
            inputs:
              - topic: a
                format: mapping
                mappings:
                  - type: nope
                    event_id: id
                    account_id: acc
                    occurred_at: t
                    properties: {seat: n, seats: n}
              - topic: b
                format: what
            """
        let problems = InputsFile.problems(yaml: yaml, file: "f.yaml")
        #expect(problems.map(\.line) == [5, 9, 11], "\(problems)")
    }
}
