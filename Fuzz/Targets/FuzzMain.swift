import CFuzzerDriver

#if canImport(Glibc)
    import Glibc
#endif

/// One fuzz target: a decoder of outside bytes and the properties checked on each input.
struct FuzzTarget: Sendable {
    /// The name `FLEET_FUZZ_TARGET` selects and the folder of its corpus (`Fuzz/corpus/<name>`).
    let name: String
    /// What it feeds the bytes to.
    let summary: String
    /// Called with each input; traps (or calls `FuzzCheck.fail`) when a property does not hold.
    let run: @Sendable (UnsafeBufferPointer<UInt8>) -> Void
}

/// Every target, in the order `scripts/fuzz` runs them.
let allTargets: [FuzzTarget] = [
    EventParserFuzz.target,
    TimestampFuzz.target,
    ScoreRecordFuzz.target,
    ScoreRecordDecoderFuzz.target,
    AlertRecordFuzz.target,
    FeedbackRecordFuzz.target,
    RetryHeadersFuzz.target,
    ChangelogEnvelopeFuzz.target,
    ScorerStateFuzz.target,
    PopulationPartFuzz.target,
    EvaluatorStateFuzz.target,
    DispatcherStateFuzz.target,
    FeedbackLinkFuzz.target,
    RulesFileFuzz.target,
    DestinationsFileFuzz.target,
    InputNormaliserFuzz.target,
    InputsFileFuzz.target,
]

/// The target of this process, named by `FLEET_FUZZ_TARGET` (read once; libFuzzer's child
/// processes inherit it, unlike an extra argument).
let selectedTarget: FuzzTarget? = {
    guard let name = getenv("FLEET_FUZZ_TARGET").map({ String(cString: $0) }) else { return nil }
    return allTargets.first { $0.name == name }
}()

/// Failing a property: says which and aborts, so libFuzzer saves the input as a crash.
enum FuzzCheck {
    static func fail(_ message: String) -> Never {
        printError("fleet-fuzz: property failed: \(message)\n")
        abort()
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fail(message()) }
    }
}

/// `fleet-fuzz`: libFuzzer over the fleet's decoders of outside bytes. `FLEET_FUZZ_TARGET=<name>
/// fleet-fuzz [libFuzzer flags] [corpus dirs or files]`; `fleet-fuzz --list` prints the targets,
/// `fleet-fuzz --write-seeds [dir]` writes their seeds (`FuzzSeeds`).
/// Built by `scripts/fuzz` only (`FLEET_FUZZ=1`, coverage instrumentation, libFuzzer linked in).
@main
enum FleetFuzz {
    static func main() {
        if CommandLine.arguments.dropFirst().first == "--list" {
            for target in allTargets { print("\(target.name)\t\(target.summary)") }
            exit(0)
        }
        if CommandLine.arguments.dropFirst().first == "--write-seeds" {
            let root = CommandLine.arguments.dropFirst(2).first ?? "Fuzz/corpus"
            do {
                try FuzzSeeds.write(to: root)
                exit(0)
            } catch {
                printError("fleet-fuzz: cannot write seeds: \(error)\n")
                exit(1)
            }
        }
        guard selectedTarget != nil else {
            let names = allTargets.map(\.name).joined(separator: ", ")
            printError("fleet-fuzz: set FLEET_FUZZ_TARGET to one of: \(names)\n")
            exit(2)
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                selectedTarget?.run(UnsafeBufferPointer(start: data, count: size))
                return 0
            })
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The input as text (invalid UTF-8 repaired), as a file or a header value is read.
    var text: String { String(decoding: self, as: UTF8.self) }

    /// The input cut at its first `separator` bytes: the first part and the rest (empty without one).
    func split(at separator: UInt8) -> (head: [UInt8], rest: [UInt8]) {
        guard let at = firstIndex(of: separator) else { return (Array(self), []) }
        return (Array(self[..<at]), Array(self[(at + 1)...]))
    }
}

/// Writes a line to standard error (unbuffered: it must reach the log before an abort).
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    if bytes.last != 0x0A { bytes.append(0x0A) }
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
