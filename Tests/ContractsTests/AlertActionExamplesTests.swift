import Foundation
import Testing

@testable import Contracts

/// The published action contract (`schemas/alert-action.schema.json`) and `AlertActionRecord`
/// agree: every example of `schemas/examples/alert-actions.jsonl` marked "accept" decodes and has
/// no `problem`; every refused one fails to decode or has one. `schemas/tests` checks the same
/// examples against the JSON Schema.
@Suite struct AlertActionExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyExampleIsAcceptedOrRefusedAsTheSchemaSays() throws {
        let url = Self.root.appendingPathComponent("schemas/examples/alert-actions.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 15, "examples file too short: \(lines.count)")
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let name = try #require(object["name"] as? String)
            let bytes = Array(try JSONSerialization.data(withJSONObject: try #require(object["record"])))
            let record = try? RecordCoding.decode(AlertActionRecord.self, from: bytes)
            if object["expect"] as? String == "accept" {
                let decoded = try #require(record, "\(name): not decoded")
                #expect(decoded.problem == nil, "\(name): \(decoded.problem ?? "")")
            } else {
                #expect(record == nil || record?.problem != nil, "\(name): accepted, the schema refuses it")
            }
        }
    }
}
