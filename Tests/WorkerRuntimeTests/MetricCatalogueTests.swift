import Foundation
import Metrics
import Prometheus
import Testing

@testable import WorkerRuntime

/// The metric catalogue is the one list of metric families: complete against the sources, the
/// reference in `docs/metrics.md`, and the source of every `# HELP` line on `/metrics`.
@Suite struct MetricCatalogueTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every `"fleet_..."` string literal under `Sources/` (metric labels are written out whole),
    /// except in the catalogue itself.
    static func metricNamesInSources() throws -> Set<String> {
        var names: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        let pattern = try NSRegularExpression(pattern: #""(fleet_[a-z0-9_]+)""#)
        for case let file as URL in files
        where file.pathExtension == "swift" && file.lastPathComponent != "MetricCatalogue.swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
            }
        }
        return names
    }

    @Test func everyMetricNameInTheSourcesIsCatalogued() throws {
        let names = try Self.metricNamesInSources()
        #expect(names.count > 20, "the scan found too few names: \(names.sorted())")
        let catalogued = Set(MetricCatalogue.families.map(\.name))
        let missing = names.subtracting(catalogued)
        #expect(missing.isEmpty, "add to Sources/WorkerRuntime/MetricCatalogue.swift: \(missing.sorted())")
        let unused = catalogued.subtracting(names)
        #expect(unused.isEmpty, "catalogued but never used in Sources: \(unused.sorted())")
    }

    @Test func catalogueEntriesAreWellFormed() {
        let names = MetricCatalogue.families.map(\.name)
        #expect(Set(names).count == names.count, "a family is listed twice")
        for family in MetricCatalogue.families {
            #expect(family.name.hasPrefix("fleet_"), "\(family.name)")
            #expect(!family.help.isEmpty && !family.help.contains("\n"), "\(family.name): help must be one line")
            #expect(
                (family.kind == .counter) == family.name.hasSuffix("_total"),
                "\(family.name): counters, and only counters, end in _total")
        }
    }

    @Test func docsMetricsMdIsTheGeneratedReference() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        #expect(
            doc == MetricCatalogue.markdown,
            "docs/metrics.md is stale: run `swift run fleet-admin metrics-reference > docs/metrics.md`")
    }

    @Test func theFactoryWritesHelpAndTypeForEachFamilyAndTheBuildInfo() {
        let registry = PrometheusCollectorRegistry()
        let factory = CataloguedMetricsFactory(registry: registry)
        Counter(label: "fleet_records_consumed_total", dimensions: [("stage", "t")], factory: factory).increment()
        Gauge(
            label: "fleet_consumer_lag", dimensions: [("stage", "t"), ("topic", "x"), ("partition", "0")],
            factory: factory
        )
        .record(7)
        Timer(label: "fleet_dispatch_post_duration_seconds", dimensions: [("destination", "d")], factory: factory)
            .recordNanoseconds(1_000_000)
        factory.recordBuildInfo()
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        for (name, kind) in [
            ("fleet_records_consumed_total", "counter"), ("fleet_consumer_lag", "gauge"),
            ("fleet_dispatch_post_duration_seconds", "histogram"), ("fleet_build_info", "gauge"),
        ] {
            let help = MetricCatalogue.family(named: name)?.help ?? "?"
            #expect(text.contains("# HELP \(name) \(help)\n"), "no HELP for \(name):\n\(text)")
            #expect(text.contains("# TYPE \(name) \(kind)\n"), "no TYPE for \(name):\n\(text)")
        }
        let buildInfo = text.split(separator: "\n").filter { $0.hasPrefix("fleet_build_info{") }
        #expect(
            buildInfo.count == 1 && buildInfo[0].split(separator: " ").last.flatMap { Double($0) } == 1, "\(buildInfo)")
        #expect(buildInfo.first?.contains(#"version="\#(BuildInfo.version)""#) == true, "\(buildInfo)")
        #expect(buildInfo.first?.contains(#"commit=""#) == true, "\(buildInfo)")
    }

    /// Time to acknowledge is minutes to days: its histogram has buckets for that, not the default
    /// 5 ms to 10 s (where every observation would land in `+Inf`).
    @Test func timeToAcknowledgeHasBucketsFromAMinuteToAWeek() {
        let registry = PrometheusCollectorRegistry()
        let factory = CataloguedMetricsFactory(registry: registry)
        Timer(
            label: "fleet_evaluator_time_to_acknowledge_seconds", dimensions: [("priority", "P2")],
            preferredDisplayUnit: .seconds, factory: factory
        )
        .recordNanoseconds(600 * 1_000_000_000)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(
            text.contains(#"fleet_evaluator_time_to_acknowledge_seconds_bucket{priority="P2",le="300.0"} 0"#), "\(text)"
        )
        #expect(
            text.contains(#"fleet_evaluator_time_to_acknowledge_seconds_bucket{priority="P2",le="900.0"} 1"#), "\(text)"
        )
        #expect(text.contains(#"le="604800.0""#), "\(text)")
    }

    @Test func theVersionIsTheChartsAppVersion() throws {
        let chart = try String(
            contentsOf: Self.root.appendingPathComponent("helm/account-health-fleet/Chart.yaml"), encoding: .utf8)
        let line = try #require(chart.split(separator: "\n").first { $0.hasPrefix("appVersion:") })
        let appVersion = line.dropFirst("appVersion:".count).trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        #expect(
            appVersion == BuildInfo.version,
            "Chart.yaml appVersion \(appVersion) != BuildInfo.version \(BuildInfo.version): change both together")
        #expect(BuildInfo.versionLine(executable: "x").hasPrefix("x \(BuildInfo.version) (commit "))
    }
}
