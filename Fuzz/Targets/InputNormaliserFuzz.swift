import EventInputs
import Foundation
import HealthModel

/// Input topics' records (Debezium, Segment, Stripe-like JSON): the normalisers never trap, and an
/// event one makes is one the native parser accepts, with the account id it reports.
enum InputNormaliserFuzz {
    /// The shipped inputs file's normalisers (read once from the repository's root, where
    /// `scripts/fuzz` runs), else a small built-in file.
    static let normalisers: [InputNormaliser] = {
        let yaml =
            (try? String(contentsOfFile: "config/inputs/inputs.yaml", encoding: .utf8)) ?? """
                inputs:
                  - topic: t
                    format: debezium
                    tables:
                      - table: tickets
                        type: ticket_opened
                        event_id: "t-{after.id}"
                        account_id: after.account_id
                        properties: {ticket_id: after.id, sentiment: after.sentiment}
                """
        let file = (try? InputsFile.parse(yaml: yaml, file: "inputs.yaml")) ?? InputsFile(inputs: [])
        return file.inputs.map { InputNormaliser(spec: $0) }
    }()

    static let target = FuzzTarget(name: "input-normaliser", summary: "InputNormaliser.normalise (input topics)") {
        input in
        let bytes = Array(input)
        let parser = EventParser()
        for normaliser in normalisers {
            guard case .event(let accountId, let value)? = try? normaliser.normalise(bytes) else { continue }
            guard let event = try? parser.parse(value) else {
                FuzzCheck.fail("\(normaliser.spec.topic) made an event the parser refuses: \(value.text)")
            }
            FuzzCheck.require(event.accountId == accountId, "\(normaliser.spec.topic): account id differs")
        }
    }
}

/// `inputs.yaml`: reading an inputs file never traps, whatever the YAML.
enum InputsFileFuzz {
    static let target = FuzzTarget(name: "inputs-file", summary: "InputsFile.parse (inputs.yaml)") { input in
        _ = InputsFile.problems(yaml: input.text, file: "inputs.yaml")
    }
}
