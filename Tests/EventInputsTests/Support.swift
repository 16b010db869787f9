import EventInputs
import Foundation
import HealthModel
import Testing

/// The repository root (for config/inputs and schemas).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The shipped inputs file, parsed (a test failure names every problem).
func shippedInputs() throws -> InputsFile {
    let path = repositoryRoot.appendingPathComponent("config/inputs/inputs.yaml").path
    return try InputsFile.parse(yaml: String(contentsOfFile: path, encoding: .utf8), file: "config/inputs/inputs.yaml")
}

/// The normaliser of `topic` in the shipped inputs file.
func shippedNormaliser(_ topic: String) throws -> InputNormaliser {
    let spec = try #require(try shippedInputs().inputs.first { $0.topic == topic }, "no input \(topic)")
    return InputNormaliser(spec: spec)
}

/// The lines of a shipped sample file of `config/inputs/samples`.
func sampleLines(_ file: String) throws -> [[UInt8]] {
    let path = repositoryRoot.appendingPathComponent("config/inputs/samples/\(file)").path
    return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
}

/// The event a normalised record holds, parsed back (nil when it was skipped).
func event(_ record: NormalisedRecord) throws -> AccountEvent? {
    guard case .event(let accountId, let value) = record else { return nil }
    let parsed = try EventParser().parse(value)
    #expect(parsed.accountId == accountId, "the account id returned is the event's")
    return parsed
}

/// A normaliser over a one-input inputs file written in the test.
func normaliser(_ yaml: String) throws -> InputNormaliser {
    let file = try InputsFile.parse(yaml: yaml, file: "test.yaml")
    return InputNormaliser(spec: try #require(file.inputs.first))
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
