import EventInputs
import Foundation
import Testing

/// The fields a mapping may fill are the published contract's: the same names and kinds as
/// `schemas/account-event.schema.json`.
@Suite struct EventFieldsTests {
    @Test func propertiesAreTheSchemas() throws {
        let path = repositoryRoot.appendingPathComponent("schemas/account-event.schema.json").path
        let schema = try #require(JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        let propertiesPath = try #require(FieldPath("properties.properties.properties"))
        let properties = try #require(schema.value(at: propertiesPath))
        guard case .object(let members) = properties else {
            Issue.record("the schema has no properties.properties.properties object")
            return
        }
        #expect(Set(members.keys) == Set(EventFields.properties.keys))
        let typePath = try #require(FieldPath("type"))
        let enumPath = try #require(FieldPath("enum"))
        let oneOfPath = try #require(FieldPath("oneOf"))
        for (name, kind) in EventFields.properties {
            let types = members[name]?.value(at: typePath)
            let enumerated = members[name]?.value(at: enumPath)
            let alternatives = members[name]?.value(at: oneOfPath)
            let text = [types, enumerated, alternatives].compactMap { $0.map { "\($0)" } }.joined(separator: " ")
            switch kind {
            case .string: #expect(text.contains("string") || enumerated != nil, "\(name): \(text)")
            case .integer: #expect(text.contains("integer"), "\(name): \(text)")
            case .number: #expect(text.contains("number"), "\(name): \(text)")
            case .boolean: #expect(text.contains("boolean"), "\(name): \(text)")
            case .time: Issue.record("\(name): a property is never a time")
            }
        }
        let topPath = try #require(FieldPath("properties"))
        let top = try #require(schema.value(at: topPath))
        for name in EventFields.topLevel.keys {
            #expect(top.value(at: FieldPath(keys: [name])) != nil, "\(name) is not in the schema")
        }
    }
}
