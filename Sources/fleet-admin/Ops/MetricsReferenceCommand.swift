import ArgumentParser
import WorkerRuntime

/// `fleet-admin metrics-reference`: prints `docs/metrics.md`, the reference of every metric family
/// the stages expose, from `MetricCatalogue`.
struct MetricsReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-reference",
        abstract: "Print the metrics reference (docs/metrics.md) from the metric catalogue.")

    func run() {
        print(MetricCatalogue.markdown, terminator: "")
    }
}
