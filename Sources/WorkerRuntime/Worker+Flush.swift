import Foundation
import Kafka
import Logging
import Synchronization

/// Changelog flushes gated by epochs, offset stores, drains, and the stop within one budget.
extension Worker {
    // MARK: - Flushes and commits

    /// Lets the processor finish what only its timers would (no tick runs during a drain).
    func notifyDraining(_ owner: PartitionOwner<State>) {
        let context = owner.context
        context.outputs.removeAll(keepingCapacity: true)
        context.wallClockMilliseconds = clock.milliseconds()
        processor.partitionDraining(context: context)
        for output in context.outputs { send(output, owner: owner, source: nil) }
        context.outputs.removeAll(keepingCapacity: true)
    }

    /// Closes a flush of each owner with changes (when `force`), and writes queued flushes whose
    /// preceding outputs are all acknowledged.
    func driveFlushes(force: Bool, owners selected: some Sequence<PartitionOwner<State>>) {
        guard let changelog = topology.changelog else {
            // Stateless: nothing to write; release holds at once.
            for owner in selected {
                for (tp, offset) in owner.flushHolds { owner.tracker.release(tp, offset: offset) }
                owner.flushHolds = [:]
            }
            return
        }
        for owner in selected where owner.isActive {
            if force, owner.context.state.hasChanges || owner.context.watermarkChanged {
                closeFlush(owner, changelog: changelog)
            }
            while let flush = owner.pending.first, owner.epochs.allDone(through: flush.epoch) {
                owner.pending.removeFirst()
                write(flush, owner: owner)
            }
        }
    }

    /// Encodes the changes since the last flush into framed changelog records.
    func closeFlush(_ owner: PartitionOwner<State>, changelog: String) {
        let context = owner.context
        var writes: [OutgoingRecord] = []
        for change in context.state.takeChanges() {
            let applied = owner.deferred.cap(change.applied, key: change.key)
            let envelope: ChangelogEnvelope
            if let value = change.value {
                let payload = value.stateBytes
                guard !payload.isEmpty else {
                    // Never write an empty value: keep the last good one in the changelog.
                    let rejection = Rejection(
                        code: "state_not_encodable",
                        reason: "state of key \(change.key) encoded to no bytes; not written")
                    logger.error(
                        "state value not written",
                        metadata: ["partition": "\(owner.partition)", "key": "\(change.key)"])
                    quarantineCounter.increment()
                    send(
                        DeadLetter.letter(
                            topic: topology.deadLetter, key: Array(change.key.utf8), value: nil, rejection: rejection,
                            source: (settings.stage, changelog, owner.partition, nil)), owner: owner, source: nil)
                    continue
                }
                envelope = ChangelogEnvelope(epoch: owner.ownerEpoch, applied: applied, payload: payload)
            } else {
                envelope = ChangelogEnvelope(epoch: owner.ownerEpoch, deleted: true, applied: applied, payload: [])
            }
            writes.append(
                OutgoingRecord(topic: changelog, partition: owner.partition, key: change.key, value: envelope.bytes))
        }
        if context.watermarkChanged {
            context.watermarkChanged = false
            let metadata = PartitionMetadata(watermark: context.watermark)
            writes.append(
                OutgoingRecord(
                    topic: changelog, partition: owner.partition, key: PartitionMetadata.key,
                    value: ChangelogEnvelope(epoch: owner.ownerEpoch, payload: metadata.bytes).bytes))
        }
        let holds = owner.flushHolds.map { ($0.key, $0.value) }
        owner.flushHolds = [:]
        owner.pending.append(PendingFlush(epoch: owner.epochs.close(), writes: writes, holds: holds))
    }

    func write(_ flush: PendingFlush, owner: PartitionOwner<State>) {
        let tracker = owner.tracker
        guard !flush.writes.isEmpty else {
            for (tp, offset) in flush.holds { tracker.release(tp, offset: offset) }
            return
        }
        let remaining = Atomic<Int>(flush.writes.count)
        let holds = flush.holds
        for record in flush.writes {
            let describe = "changelog \(record.topic)[\(owner.partition)]"
            do {
                try producer!.send(record) { [self] result in
                    if case .failure(let error) = result {
                        self.recordFailure(.deliveryFailed(record: describe, error: error))
                        return
                    }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        for (tp, offset) in holds { tracker.release(tp, offset: offset) }
                    }
                    self.flushCondition.broadcast()
                }
            } catch {
                recordFailure(.deliveryFailed(record: describe, error: error))
            }
        }
    }

    func storeOffsets() {
        var committable: [TopicPartition: Int64] = [:]
        for owner in owners.values where owner.isActive {
            committable.merge(owner.tracker.takeCommittable()) { $1 }
        }
        guard !committable.isEmpty else { return }
        do {
            try consumer?.storeOffsets(committable)
            commitCounter.increment(by: committable.count)
        } catch {
            logger.warning("store offsets failed", metadata: ["error": "\(error)"])
        }
    }

    /// Drives the owners' flushes until nothing of theirs is open, or the deadline (monotonic ms,
    /// `monotonicMilliseconds()`) passes.
    func drain(_ selected: [PartitionOwner<State>], deadline: Int64) -> Bool {
        for owner in selected where owner.isActive { notifyDraining(owner) }
        driveFlushes(force: true, owners: selected)
        while true {
            driveFlushes(force: false, owners: selected)
            if selected.allSatisfy({ $0.tracker.openCount() == 0 && $0.pending.isEmpty }) { return true }
            if failure.withLock({ $0 }) != nil || Self.monotonicMilliseconds() >= deadline { return false }
            flushCondition.lock()
            _ = flushCondition.wait(until: Date(timeIntervalSinceNow: 0.01))
            flushCondition.unlock()
        }
    }

    /// The deadline of work done now: the stop budget's end when stopping, else one budget from now.
    var workDeadline: Int64 {
        stopRequested.load(ordering: .acquiring)
            ? stopDeadline.load(ordering: .acquiring)
            : Self.monotonicMilliseconds() + settings.shutdownTimeout.inMilliseconds
    }

    func shutdown() -> Result<Void, WorkerError> {
        if !stopRequested.load(ordering: .acquiring) { requestStop() }  // stopping on an error: same budget
        let deadline = stopDeadline.load(ordering: .acquiring)
        setStatus(ready: false, detail: "stopping")
        for owner in owners.values { owner.restoreJob?.cancel() }
        // The drain gets the budget less a reserve for leaving the group and flushing.
        let reserve = min(settings.shutdownTimeout.inMilliseconds / 5, 5_000)
        let active = owners.values.filter(\.isActive)
        let drained = failure.withLock({ $0 }) == nil ? drain(Array(active), deadline: deadline - reserve) : false
        if !drained { logger.warning("stopping with records still in flight; they will be read again") }
        storeOffsets()
        do { try consumer?.commit() } catch { logger.warning("final commit failed", metadata: ["error": "\(error)"]) }
        consumer?.close()  // leaves the group; the final revoke finds nothing left to do
        consumer = nil
        let left = max(deadline - Self.monotonicMilliseconds(), 500)
        producer?.shutdownBlocking(timeout: .milliseconds(left))
        producer = nil
        sender = nil
        owners.removeAll()
        processor.workerStopped()
        standby?.stop()
        standby = nil
        if let error = failure.withLock({ $0 }) {
            logger.error("worker stopped on error", metadata: ["error": "\(error)"])
            return .failure(error)
        }
        logger.info("worker stopped", metadata: ["stage": "\(settings.stage)"])
        return .success(())
    }

    func recordFailure(_ error: WorkerError) {
        failure.withLock { if $0 == nil { $0 = error } }
        flushCondition.broadcast()
    }

    func updateStatus() {
        let restoring = owners.values.filter { $0.lifecycle.phase == .restoring }.map(\.partition).sorted()
        setStatus(
            detail: restoring.isEmpty
                ? "processing \(owners.count) partitions" : "restoring state of partitions \(restoring)")
    }

    func setStatus(ready: Bool? = nil, detail: String) {
        let assignedNow = owners.values.flatMap(\.topicPartitions).sorted()
        let restoring = owners.values.contains { $0.lifecycle.phase == .restoring }
        let isReady = ready ?? (joined && !restoring && !stopRequested.load(ordering: .relaxed))
        statusBox.withLock { $0 = WorkerStatus(live: true, ready: isReady, assigned: assignedNow, detail: detail) }
    }

    /// Milliseconds on a monotonic clock (since boot), for deadlines and durations: unlike wall
    /// time it never steps back or forward.
    static func monotonicMilliseconds() -> Int64 {
        Int64(clamping: DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }
}
