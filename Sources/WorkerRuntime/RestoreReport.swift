/// What one restore read from the changelog and how long it took: the figures behind the pause a
/// moved partition's records wait while its new owner rebuilds its state (`Worker.restoreReports`).
public struct RestoreReport: Sendable, Equatable {
    /// The partitions restored together (one job reads them all).
    public var partitions: [Int32]
    /// Changelog records read, tombstones and superseded values included.
    public var records: Int
    /// Keys in the restored state (the latest value of each key, deleted keys left out).
    public var keys: Int
    /// Key and value bytes of the records read, as the consumer hands them over (after any
    /// producer compression is undone).
    public var bytes: Int
    /// From the restore thread's start (its consumer created, the ends looked up) to the last
    /// record applied.
    public var duration: Duration
    /// Keys taken from this worker's standby copies (`STANDBY_REPLICAS=all`) rather than read (the
    /// tail read after them may delete some, so this can exceed `keys`): `records` then counts only
    /// the changelog's tail after the copies.
    public var warmKeys: Int

    public init(partitions: [Int32], records: Int, keys: Int, bytes: Int, duration: Duration, warmKeys: Int = 0) {
        self.partitions = partitions
        self.records = records
        self.keys = keys
        self.bytes = bytes
        self.duration = duration
        self.warmKeys = warmKeys
    }

    /// `duration` in seconds.
    public var seconds: Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Restored keys per second (0 for an instant restore).
    public var keysPerSecond: Double { seconds > 0 ? Double(keys) / seconds : 0 }

    /// Bytes read per second (0 for an instant restore).
    public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }
}
