import Kafka
import WorkerRuntime

/// A stage's state as its compacted changelog holds it now, read the way a restore reads it
/// (`StateRestorer`): per key the value with the highest owner epoch (ties: the later offset), a
/// deleted key or a tombstone removing it, the partition's metadata key skipped. Pure: records in.
public enum ChangelogSnapshot {
    /// The latest value of each key of `records` (a whole changelog topic, any order of partitions,
    /// offsets in order within one), decoded by `decode`; keys in `skipping` are left out. Values
    /// whose frame or payload cannot be read are counted in `unreadable` (and their key left out
    /// unless a later value of it is readable).
    public static func values<Value>(
        from records: [ConsumedRecord], skipping: Set<String> = [], decode: ([UInt8]) throws -> Value
    ) -> (values: [String: Value], unreadable: Int) {
        var winners: [String: (epoch: Int64, payload: [UInt8]?)] = [:]
        var unreadable = 0
        for record in records {
            guard let key = record.keyString, key != PartitionMetadata.key, !skipping.contains(key) else { continue }
            guard let value = record.value else {
                winners[key] = nil
                continue
            }
            guard let envelope = try? ChangelogEnvelope(decoding: value) else {
                unreadable += 1
                continue
            }
            if let previous = winners[key], previous.epoch > envelope.epoch { continue }
            winners[key] = (envelope.epoch, envelope.deleted ? nil : envelope.payload)
        }
        var out: [String: Value] = [:]
        for (key, winner) in winners {
            guard let payload = winner.payload else { continue }
            do {
                out[key] = try decode(payload)
            } catch {
                unreadable += 1
            }
        }
        return (out, unreadable)
    }
}
