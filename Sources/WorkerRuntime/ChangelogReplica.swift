import Kafka

/// One changelog partition read so far, as a restore reads it: per key the value of the highest
/// owner epoch (ties: the later offset), tombstones and deletions applied, values that cannot be
/// decoded quarantined, frames that cannot be true skipped. The one reading rule of a restore
/// (`RestoreJob`) and of a standby copy (`StandbyReplicas`), so a partition taken warm from the
/// standby holds what a restore from the beginning would.
struct ChangelogReplica<Value: StateValue>: Sendable {
    /// What has been read: entries, metadata, epochs, quarantined and corrupt values, counts.
    var restored = RestoredPartition<Value>()
    /// Per key: the epoch and offset of the value kept (fences a late write of an earlier owner).
    var winners: [String: ChangelogWinner] = [:]
    /// The next offset to read (every record below it has been applied).
    var position: Int64 = 0
    /// Keep at most the latest corrupt or undecodable frame per key, and none once a believable value
    /// replaced it: a standby copy lives as long as its process, and its lists would otherwise grow
    /// with every bad frame ever read (a restore reads each frame once and reports them all).
    var pruneSuperseded = false

    /// Applies one changelog record, judged against `limit`; a value is the stage's state decoded
    /// from the envelope's payload.
    mutating func apply(key: String?, value: [UInt8]?, offset: Int64, limit: ChangelogPlausibility) {
        // A record below what was read (a consumer reset to the log's start) would undo later values.
        guard offset >= position else { return }
        position = offset + 1
        restored.records += 1
        restored.bytes += (key?.utf8.count ?? 0) + (value?.count ?? 0)
        guard let key else { return }
        guard let value else {
            // A tombstone (written by compaction tooling or an older version): delete.
            restored.entries.remove(key)
            winners[key] = nil
            return
        }
        let envelope: ChangelogEnvelope
        do {
            envelope = try ChangelogEnvelope(decoding: value)
        } catch {
            if pruneSuperseded { restored.quarantined.removeAll { $0.key == key } }
            restored.quarantined.append(QuarantinedValue(key: key, value: value, offset: offset, reason: error))
            return
        }
        var metadata: PartitionMetadata?
        var problem = limit.problem(with: envelope)
        if problem == nil, key == PartitionMetadata.key {
            do {
                let decoded = try PartitionMetadata(decoding: envelope.payload)
                problem = limit.problem(with: decoded)
                metadata = decoded
            } catch {
                problem = error.reason
            }
        }
        if let problem {
            if pruneSuperseded { restored.corrupt.removeAll { $0.key == key } }
            restored.corrupt.append(CorruptValue(key: key, offset: offset, reason: problem))
            return
        }
        restored.maxEpoch = max(restored.maxEpoch, envelope.epoch)
        // a stale owner's write
        if let previous = winners[key], previous.epoch > envelope.epoch { return }
        winners[key] = ChangelogWinner(epoch: envelope.epoch, offset: offset)
        if pruneSuperseded, !restored.corrupt.isEmpty { restored.corrupt.removeAll { $0.key == key } }
        if let metadata {
            restored.metadata = metadata
            return
        }
        if envelope.deleted {
            restored.entries.remove(key)
            return
        }
        do {
            let decoded = try Value(stateBytes: envelope.payload)
            restored.entries.put(key, decoded, applied: AppliedOffsets(envelope.applied))
            restored.quarantined.removeAll { $0.key == key }
        } catch {
            restored.entries.remove(key)
            restored.quarantined.removeAll { $0.key == key }
            restored.quarantined.append(QuarantinedValue(key: key, value: value, offset: offset, reason: error))
        }
    }
}

/// The epoch and offset of the value a replica keeps for a key.
struct ChangelogWinner: Sendable {
    var epoch: Int64
    var offset: Int64
}

extension ChangelogReplica {
    /// This copy as a restore takes it over: checked against `limit` once more (the wall clock and
    /// the inputs' ends at the take: a value whose frame is no longer believable, such as an applied
    /// offset beyond the end of an input recreated since, is left out as corrupt, its key starting
    /// afresh), with the counts of records and bytes at zero (they count what the restore reads
    /// after the take). Values are shared with the copy until either changes them.
    func taken(limit: ChangelogPlausibility) -> ChangelogReplica<Value> {
        var out = self
        out.pruneSuperseded = false
        out.restored.records = 0
        out.restored.bytes = 0
        var unbelievable: [(key: String, reason: String)] = []
        // Epochs are checked per key only when one read is beyond the limit (never, in practice).
        let epochs = restored.maxEpoch > limit.epochLimit
        for i in restored.entries.entries.indices {
            let epoch = epochs ? winners[restored.entries.entries[i].key]?.epoch ?? 0 : 0
            if let problem = limit.problem(epoch: epoch, applied: restored.entries.entries[i].applied) {
                unbelievable.append((restored.entries.entries[i].key, problem))
            }
        }
        for (key, reason) in unbelievable {
            out.restored.entries.remove(key)
            out.restored.corrupt.append(CorruptValue(key: key, offset: winners[key]?.offset ?? -1, reason: reason))
            out.winners[key] = nil
        }
        if let problem = limit.problem(with: out.restored.metadata) {
            out.restored.corrupt.append(
                CorruptValue(
                    key: PartitionMetadata.key, offset: winners[PartitionMetadata.key]?.offset ?? -1, reason: problem))
            out.restored.metadata = PartitionMetadata()
        }
        return out
    }
}
