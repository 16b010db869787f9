import AlertRules
import Foundation
import Testing

/// Inputs that made a decoder trap (`scripts/fuzz`), kept in `Tests/Fixtures/fuzz-regressions`:
/// each one is refused with an error now.
@Suite struct EvaluatorStateFuzzRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-regressions")

    /// 1: a last score beyond `Int` (`Int(UInt64)` trapped); 2: peak times whose running sum
    /// overflows; 3: a peak score beyond `Int`; 4: an episode's last-sent time overflowing its
    /// opening time. Each trapped in `AccountAlertState(decoding:)`: the evaluator died restoring
    /// the partition, at every assignment. 5: what `scripts/fuzz` found on the unfixed decoder in
    /// 80 executions (peak times overflowing).
    @Test(arguments: (1...5).map { "evaluator-state-\($0)" })
    func aCorruptEvaluatorStateIsRefusedNotATrap(name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
        #expect(throws: AlertRulesError.self) { try AccountAlertState(decoding: bytes) }
    }
}
