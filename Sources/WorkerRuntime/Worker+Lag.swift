import Kafka
import Metrics

extension Worker {
    /// Consumer lag of every owned input partition, as last measured (once per commit interval).
    public var consumerLag: [TopicPartition: Int64] { lagSnapshot.withLock { $0 } }

    /// Sets the gauge `fleet_consumer_lag{stage, topic, partition}`: the high watermark the fetcher
    /// last saw minus where work stands (the lowest record still open, else the next offset to
    /// commit, else the fetch position), so records fetched but not finished count as lag. Runs on
    /// the worker thread once per commit interval and never asks the broker: the watermarks are
    /// librdkafka's cached ones (`rd_kafka_get_watermark_offsets`) and the position is local.
    /// Partitions that went away are set to 0, so a gauge never holds another member's lag.
    func reportLag() {
        guard let consumer else { return }
        var owned: [TopicPartition] = []
        for owner in owners.values where owner.isActive {
            for input in topology.inputs { owned.append(TopicPartition(input, owner.partition)) }
        }
        var processed: [TopicPartition: Int64] = [:]
        for owner in owners.values where owner.isActive {
            processed.merge(owner.tracker.processedUpTo(owned.filter { $0.partition == owner.partition })) { $1 }
        }
        let missing = owned.filter { processed[$0] == nil }
        if !missing.isEmpty, let positions = try? consumer.positions(missing) {
            for (tp, position) in positions { if let position { processed[tp] = position } }
        }
        var lag: [TopicPartition: Int64] = [:]
        for tp in owned {
            guard let high = consumer.cachedWatermarks(tp)?.high, let at = processed[tp] else { continue }
            lag[tp] = max(0, high - at)
        }
        for tp in lagReported.subtracting(lag.keys) { lagGauge(tp).record(0) }
        for (tp, value) in lag { lagGauge(tp).record(value) }
        lagReported = Set(lag.keys)
        lagSnapshot.withLock { $0 = lag }
        reportPauses()
    }

    /// Sets the gauge `fleet_partition_paused_until_seconds{stage, topic, partition}`: for each
    /// topic-partition paused by `retryLater` (a retry topic whose head is not due yet), the wall
    /// time (Unix seconds) it is due to resume; 0 once it is not paused (resumed, or gone). A
    /// partition that stays paused far ahead is visible here, not only as a lag that never moves.
    func reportPauses() {
        var pauses: [TopicPartition: Int64] = [:]
        for owner in owners.values where owner.isActive {
            pauses.merge(owner.lifecycle.retryPauses) { $1 }
        }
        for tp in pausesReported.subtracting(pauses.keys) { pauseGauge(tp).record(0) }
        for (tp, due) in pauses { pauseGauge(tp).record(Double(due) / 1000) }
        pausesReported = Set(pauses.keys)
    }

    private func pauseGauge(_ tp: TopicPartition) -> Gauge {
        Gauge(
            label: "fleet_partition_paused_until_seconds",
            dimensions: [("stage", settings.stage), ("topic", tp.topic), ("partition", String(tp.partition))])
    }

    private func lagGauge(_ tp: TopicPartition) -> Gauge {
        Gauge(
            label: "fleet_consumer_lag",
            dimensions: [("stage", settings.stage), ("topic", tp.topic), ("partition", String(tp.partition))])
    }
}
