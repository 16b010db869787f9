import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import Synchronization

/// Restoring assigned partitions outside the rebalance, quarantining what cannot be read, and
/// the timers of active partitions.
extension Worker {
    // MARK: - Restore (outside the rebalance)

    /// Starts one restore for every owner waiting for one (new, or failed and due for a retry).
    func startRestores() {
        let now = ContinuousClock.now
        let waiting = owners.values.filter { owner in
            owner.lifecycle.phase == .restoring && owner.restoreJob == nil
                && (owner.restoreFailedAt == nil
                    || owner.lifecycle.shouldRetryRestore(elapsedSinceFailure: now - owner.restoreFailedAt!))
        }
        guard !waiting.isEmpty else { return }
        let reader = processor.assignmentReader
        guard topology.changelog != nil || reader != nil else {
            // Stateless, nothing to read.
            for owner in waiting { activate(owner, with: RestoredPartition<State>()) }
            updateStatus()
            return
        }
        let job = RestoreJob<State>(
            partitions: waiting.map(\.partition).sorted(),
            generations: Dictionary(uniqueKeysWithValues: waiting.map { ($0.partition, $0.generation) }))
        for owner in waiting { owner.restoreJob = job }
        restoringGauge.record(owners.values.filter { $0.lifecycle.phase == .restoring }.count)
        setStatus(detail: "restoring state of partitions \(job.partitions)")
        job.start(
            changelog: topology.changelog, inputs: topology.inputs,
            futureTimeBound: FutureTimeBound(maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds),
            reader: reader, configuration: settings.consumerConfiguration, logger: logger,
            stallTimeout: settings.restoreStallTimeout, clock: clock, standby: standby
        ) { [self] in
            self.restoreFinished.store(true, ordering: .releasing)
        }
    }

    func applyFinishedRestores() {
        guard restoreFinished.exchange(false, ordering: .acquiringAndReleasing) else { return }
        // Each job's result is taken once, then handed to each of its owners still of its generation.
        var results: [ObjectIdentifier: RestoreJob<State>.Result] = [:]
        for owner in owners.values {
            guard let job = owner.restoreJob else { continue }
            let id = ObjectIdentifier(job)
            if results[id] == nil, let result = job.take() {
                results[id] = result
                if case .success(let restored) = result { noteRestore(restored, of: job) }
            }
            guard let result = results[id] else { continue }
            owner.restoreJob = nil
            guard job.generations[owner.partition] == owner.generation else { continue }
            switch result {
            case .success(let restored):
                activate(owner, with: restored[owner.partition] ?? RestoredPartition())
            case .failure(let error):
                restoreFailureCounter.increment()
                _ = owner.lifecycle.restoreFailed()
                owner.restoreFailedAt = .now
                logger.error(
                    "state restore failed; the partition stays paused and is retried",
                    metadata: [
                        "partition": "\(owner.partition)", "error": "\(error)",
                        "retry_in": "\(PartitionLifecycle.restoreBackoff(failures: owner.lifecycle.restoreFailures))",
                    ])
            }
        }
        restoringGauge.record(owners.values.filter { $0.lifecycle.phase == .restoring }.count)
        updateStatus()
    }

    /// Keeps what a finished restore read and how long it took (`restoreReports`).
    func noteRestore(_ restored: [Int32: RestoredPartition<State>], of job: RestoreJob<State>) {
        let report = RestoreReport(
            partitions: job.partitions, records: restored.values.reduce(0) { $0 + $1.records },
            keys: restored.values.reduce(0) { $0 + $1.entries.count },
            bytes: restored.values.reduce(0) { $0 + $1.bytes }, duration: job.duration ?? .zero,
            warmKeys: job.warmKeys.withLock { $0 })
        restoreLog.withLock { log in
            log.append(report)
            if log.count > 64 { log.removeFirst(log.count - 64) }
        }
    }

    /// Puts restored state in place, quarantines what could not be read, and resumes.
    func activate(_ owner: PartitionOwner<State>, with restored: RestoredPartition<State>) {
        let context = ProcessingContext(
            state: PartitionState(partition: owner.partition, restored: restored.entries),
            watermark: restored.metadata.watermark,
            maxClockSkewMilliseconds: settings.maxClockSkew.inMilliseconds)
        context.stage = settings.stage
        context.deadLetterTopic = topology.deadLetter
        if let sender {
            let tracker = owner.tracker
            let epochs = owner.epochs
            let deferred = owner.deferred
            let stage = settings.stage
            let deadLetter = topology.deadLetter
            let inputIndex = self.inputIndex
            context.makePending = { record in
                let key = record.keyString
                let input = inputIndex[record.topic] ?? 0
                if let key { deferred.add(key: key, input: input, offset: record.offset) }
                return PendingRecord(
                    record: record, sender: sender, tracker: tracker, epochs: epochs, stage: stage,
                    deadLetterTopic: deadLetter
                ) {
                    if let key { deferred.remove(key: key, input: input, offset: record.offset) }
                }
            }
        }
        context.assignmentData = restored.assignmentData
        owner.context = context
        // Saturating: restored epochs are input (and `ChangelogPlausibility` keeps them near the clock).
        let (above, overflow) = restored.maxEpoch.addingReportingOverflow(1)
        owner.ownerEpoch = max(overflow ? .max : above, clock.milliseconds())
        owner.catchUp = restored.entries.entries.reduce(into: [:]) { bound, entry in
            entry.applied.forEachOffset { input, offset in bound[input] = max(bound[input] ?? .min, offset) }
        }
        for bad in restored.quarantined { quarantine(bad, partition: owner.partition, owner: owner) }
        for bad in restored.corrupt { reportCorrupt(bad, partition: owner.partition) }
        perform(owner.lifecycle.restored(), owner: owner)
        logger.info(
            "partition ready",
            metadata: [
                "partition": "\(owner.partition)", "generation": "\(owner.generation)",
                "keys": "\(restored.entries.count)",
                "watermark": "\(restored.metadata.watermark.map(String.init) ?? "none")",
            ])
    }

    /// One changelog value that could not be read: the key starts from nothing, the bytes go to
    /// the dead-letter topic with the reason, and an operator sees it in the log and the metrics.
    func quarantine(_ bad: QuarantinedValue, partition: Int32, owner: PartitionOwner<State>) {
        quarantineCounter.increment()
        logger.error(
            "state value quarantined",
            metadata: [
                "topic": "\(topology.changelog ?? "")", "partition": "\(partition)", "key": "\(bad.key)",
                "offset": "\(bad.offset)",
                "code": "\(bad.reason.code)", "reason": "\(bad.reason.reason)",
            ])
        let letter = DeadLetter.letter(
            topic: topology.deadLetter, key: Array(bad.key.utf8), value: bad.value,
            rejection: Rejection(
                code: "state_quarantined", reason: "changelog value not readable: \(bad.reason.reason)"),
            source: (settings.stage, topology.changelog ?? "", partition, bad.offset))
        send(letter, owner: owner, source: nil)
    }

    /// One changelog value skipped because its frame cannot be true: counted per changelog topic
    /// (`fleet_changelog_values_corrupt_total`) and logged once with topic, partition, offset and
    /// reason (never its bytes). Its key keeps its last believable value, or starts afresh from its
    /// next record as a new key would.
    func reportCorrupt(_ bad: CorruptValue, partition: Int32) {
        let topic = topology.changelog ?? ""
        Counter(
            label: "fleet_changelog_values_corrupt_total", dimensions: [("stage", settings.stage), ("topic", topic)]
        )
        .increment()
        logger.error(
            "changelog value corrupt, skipped",
            metadata: [
                "topic": "\(topic)", "partition": "\(partition)", "offset": "\(bad.offset)",
                "key": "\(bad.key.prefix(200))", "reason": "\(bad.reason)",
            ])
    }

    // MARK: - Timers

    func runTicks() {
        let now = clock.milliseconds()
        var keys = 0
        let tps = owners.values.filter(\.isActive).flatMap(\.topicPartitions)
        let positions = tps.isEmpty ? [:] : ((try? consumer?.positions(tps)) ?? [:])
        for p in owners.keys.sorted() {
            guard let owner = owners[p], owner.isActive else { continue }
            perform(owner.lifecycle.tick(nowMilliseconds: now), owner: owner)
            let context = owner.context
            context.outputs.removeAll(keepingCapacity: true)
            context.wallClockMilliseconds = now
            context.caughtUp = caughtUp(owner, positions: positions, now: now)
            processor.tick(nowMilliseconds: now, context: context)
            for output in context.outputs { send(output, owner: owner, source: nil) }
            context.outputs.removeAll(keepingCapacity: true)
            keys += context.state.count
        }
        stateKeysGauge.record(keys)
        if let standby { standbyKeysGauge.record(standby.keys) }
        // Failed restores whose back-off has passed.
        startRestores()
    }

    /// Every input of the partition consumed to its end as the fetcher last saw it, or quiet for
    /// two seconds (a partition with nothing new has no position until its first record).
    func caughtUp(_ owner: PartitionOwner<State>, positions: [TopicPartition: Int64?], now: Int64) -> Bool {
        owner.topicPartitions.allSatisfy { tp in
            let input = Int(inputIndex[tp.topic] ?? 0)
            if input < owner.lastRecordAt.count, now - owner.lastRecordAt[input] >= 2_000 { return true }
            guard let (low, high) = consumer?.cachedWatermarks(tp) else { return false }
            if high <= low { return true }
            guard let position = positions[tp] ?? nil else { return false }
            return position >= high
        }
    }
}
