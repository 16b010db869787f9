import Metrics
import Prometheus

/// The process's swift-metrics factory: Prometheus metrics in `registry`, each family with the
/// `# HELP` text of its `MetricCatalogue` entry (and `# TYPE`, which the registry always writes).
/// A name missing from the catalogue still works, without a `# HELP` line (a test keeps the
/// catalogue complete).
public struct CataloguedMetricsFactory: MetricsFactory {
    /// Where the metrics live; `/metrics` emits it.
    public let registry: PrometheusCollectorRegistry
    private let buckets: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        buckets = PrometheusMetricsFactory(registry: registry)
    }

    private func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: MetricCatalogue.family(named: name)?.help ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: buckets.valueHistogramBuckets[label] ?? buckets.defaultValueHistogramBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: MetricCatalogue.durationBuckets[label] ?? buckets.durationHistogramBuckets[label]
                ?? buckets.defaultDurationHistogramBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) { buckets.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        buckets.destroyFloatingPointCounter(handler)
    }
    public func destroyRecorder(_ handler: any RecorderHandler) { buckets.destroyRecorder(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { buckets.destroyMeter(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { buckets.destroyTimer(handler) }

    /// Sets `fleet_build_info{version, commit}` to 1 in `registry`.
    public func recordBuildInfo() {
        registry.makeGauge(descriptor: descriptor("fleet_build_info"), labels: BuildInfo.metricLabels).set(Int64(1))
    }
}
