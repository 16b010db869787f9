import Contracts
import Foundation
import Testing

@testable import SlackDelivery

/// The Block Kit of each alert type (and of a group of alerts) as JSON files under `Snapshots/`,
/// compared byte for byte: any change to a message's wording or layout shows up as a diff to
/// review. After an intended change, regenerate them with
/// `UPDATE_SNAPSHOTS=1 swift test --skip-build --filter MessageSnapshotTests` and commit the files
/// (and `scripts/render-messages` for the pictures in docs/messages.md).
@Suite("Rendering: snapshot of each alert type's Block Kit")
struct MessageSnapshotTests {
    /// The sample messages: every alert type, a group, and a destination in euros.
    static let samples: [(name: String, body: @Sendable () throws -> JSONValue)] = {
        typealias Sample = (name: String, body: @Sendable () throws -> JSONValue)
        var samples: [Sample] = AlertType.allCases.map { type in
            (type.rawValue, { SlackMessageRenderer().message(Fixtures.alert(type, severity: severity(type))) })
        }
        samples.append(
            ("group", { @Sendable in SlackMessageRenderer().message(try AlertGroup(AlertGroupTests.evaluation())) }))
        samples.append(
            (
                "billing_retry_failed_eur",
                { @Sendable in
                    var a = Fixtures.alert(.billingRetryFailed, severity: .high)
                    a.trigger?.currency = nil
                    return SlackMessageRenderer(currency: Currency(code: "EUR")!).message(a)
                }
            ))
        return samples
    }()

    /// A natural severity per type, so the pictures show each colour.
    static func severity(_ type: AlertType) -> Severity {
        switch type {
        case .customerAtRisk: .critical
        case .healthScoreDrop, .billingRetryFailed: .high
        case .digest: .medium
        case .expansionSignal, .upsellOpportunity, .recovered: .low
        }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Snapshots")

    @Test("each sample matches its snapshot file", arguments: samples.map(\.name))
    func matchesSnapshot(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let message = try sample.body()
        let bytes = message.serialized()
        #expect(BlockKitValidator.validate(message: bytes) == [], "\(name) breaks a Block Kit limit")
        let text = Self.pretty(message) + "\n"
        let file = Self.directory.appendingPathComponent("\(name).json")
        if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
            return
        }
        guard let stored = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("no snapshot \(file.path): run with UPDATE_SNAPSHOTS=1 to record it")
            return
        }
        if stored != text {
            let a = stored.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            let was = line < a.count ? String(a[line]) : "(end of file)"
            let now = line < b.count ? String(b[line]) : "(end of file)"
            Issue.record(
                """
                \(name).json differs at line \(line + 1):
                  snapshot: \(was)
                  rendered: \(now)
                review the change, then UPDATE_SNAPSHOTS=1 swift test --skip-build --filter MessageSnapshotTests
                """)
        }
    }

    @Test("the snapshot directory holds no file without a sample (a renamed type leaves none behind)")
    func noStaleSnapshots() throws {
        let names = Set(Self.samples.map { "\($0.name).json" })
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory.path)) ?? []
        #expect(!files.isEmpty, "no snapshots in \(Self.directory.path)")
        for f in files where f.hasSuffix(".json") { #expect(names.contains(f), "stale snapshot \(f)") }
    }

    /// Indented JSON in the renderer's own key order (two spaces), so a diff reads like the message.
    static func pretty(_ v: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch v {
        case .null, .bool, .int, .string:
            return String(decoding: v.serialized(), as: UTF8.self)
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let entries):
            guard !entries.isEmpty else { return "{}" }
            let lines = entries.map { key, value in
                inner + String(decoding: JSONValue.string(key).serialized(), as: UTF8.self) + ": "
                    + pretty(value, indent: inner)
            }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
        }
    }
}
