import Contracts

/// What one partition of the delivery log says at assignment: the keys delivered (with the wall
/// ms they were logged at) and the keys in doubt (an intent is their last value; with the wall ms
/// the post was about to start).
public struct DeliveryLogSnapshot: Sendable, Hashable {
    public var delivered: [String: Int64]
    public var inDoubt: [String: Int64]

    public init(delivered: [String: Int64] = [:], inDoubt: [String: Int64] = [:]) {
        self.delivered = delivered
        self.inDoubt = inDoubt
    }

    /// Applies one record of the log in offset order: the last value of a key wins; a tombstone
    /// forgets it. `timestamp` is the record's time (wall ms).
    public mutating func apply(key: String, value: [UInt8]?, timestamp: Int64) {
        guard let value else {
            delivered[key] = nil
            inDoubt[key] = nil
            return
        }
        switch DeliveryLogValue.decode(value) {
        case .posting(let intent):
            delivered[key] = nil
            inDoubt[key] = intent.postingAt.millisecondsSinceEpoch
        case .delivered, .unreadable:
            inDoubt[key] = nil
            delivered[key] = timestamp
        }
    }
}
