import Foundation
import HealthModel
import Testing

/// The published event contract (`schemas/account-event.schema.json`, `docs/events.md`) and the
/// parser agree: every example of `schemas/examples/account-events.jsonl` is accepted or refused
/// with the code it names (the code the dead-letter topic carries). `scripts/check-schemas` checks
/// the same examples against the JSON Schema.
@Suite struct EventContractTests {
    struct Example {
        var name: String
        var expect: String
        var bytes: [UInt8]
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func examples() throws -> [Example] {
        let url = root.appendingPathComponent("schemas/examples/account-events.jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let bytes: [UInt8]
            if let raw = object["raw"] as? String {
                bytes = Array(raw.utf8)
            } else {
                bytes = Array(try JSONSerialization.data(withJSONObject: object["event"]!, options: [.sortedKeys]))
            }
            return Example(name: object["name"] as! String, expect: object["expect"] as! String, bytes: bytes)
        }
    }

    @Test func everyExampleIsAcceptedOrRefusedWithItsCode() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 40, "examples file too short: \(examples.count)")
        let parser = EventParser()
        for example in examples {
            do {
                _ = try parser.parse(example.bytes)
                #expect(example.expect == "accept", "\(example.name): accepted, the contract says \(example.expect)")
            } catch {
                #expect(
                    example.expect == error.code.rawValue,
                    "\(example.name): refused with \(error.code.rawValue) (\(error.reason)), the contract says \(example.expect)"
                )
            }
        }
    }

    @Test func everyKnownTypeHasAnAcceptedExample() throws {
        let accepted = try Self.examples().filter { $0.expect == "accept" }
            .compactMap { try? EventParser().parse($0.bytes).typeName }
        let known = [
            "login", "feature_used", "session", "api_call", "nps_response", "ticket_opened", "ticket_escalated",
            "ticket_closed", "payment_failed", "payment_succeeded", "billing_retry_failed", "seats_changed",
            "subscription_cancelled", "champion_left", "account_updated",
        ]
        for type in known { #expect(accepted.contains(type), "no accepted example of \(type)") }
    }

    @Test func everyRefusalCodeOfTheParserIsDocumented() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/events.md"), encoding: .utf8)
        for code in EventRejection.Code.allCases {
            #expect(doc.contains("`\(code.rawValue)`"), "docs/events.md does not explain \(code.rawValue)")
        }
    }
}
