import Foundation
import Kafka
import Logging
import Synchronization

/// Rebalances, called on the worker thread inside `poll`: partitions are paused and restored
/// lazily (assign), drained and committed (revoke), or dropped (lost).
extension Worker {
    // MARK: - Rebalances (called on the worker thread, inside poll)

    public func partitionsAssigned(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        joined = true
        for (p, group) in Dictionary(grouping: tps, by: \.partition) where owners[p] == nil {
            let owner = PartitionOwner<State>(
                generation: nextGeneration, partition: p, partitions: group,
                maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds,
                firstFlush: FlushPhase.first(of: p, after: .now, interval: settings.commitInterval))
            nextGeneration += 1
            owners[p] = owner
        }
        // Restores start from the loop, after the consumer has assigned and paused these.
        updateStatus()
    }

    public func partitionsRevoked(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        let leaving = Set(tps.map(\.partition)).compactMap { owners[$0] }
        let active = leaving.filter(\.isActive)
        if !active.isEmpty {
            let drained = drain(active, deadline: workDeadline)
            if !drained {
                logger.warning(
                    "revoking with records in flight; the new owner reads them again",
                    metadata: ["partitions": "\(tps)"])
            }
            storeOffsets()
            var committable: [TopicPartition: Int64] = [:]
            for owner in active { committable.merge(owner.tracker.committable(owner.topicPartitions)) { $1 } }
            do { try consumer.commit(committable) } catch {
                logger.warning("commit on revoke failed", metadata: ["error": "\(error)"])
            }
        }
        for owner in leaving { give(owner) }
        updateStatus()
    }

    public func partitionsLost(_ tps: [TopicPartition], by consumer: KafkaConsumer) {
        rebalanceCounter.increment()
        for owner in Set(tps.map(\.partition)).compactMap({ owners[$0] }) { give(owner) }
        updateStatus()
    }

    /// Gives a partition up. A restore it shared with partitions that stay goes on for them; its
    /// result for this one is ignored (the generation no longer matches).
    func give(_ owner: PartitionOwner<State>) {
        perform(owner.lifecycle.gone(), owner: owner)
        owners[owner.partition] = nil
        if let job = owner.restoreJob, !owners.values.contains(where: { $0.restoreJob === job }) { job.cancel() }
    }
}
