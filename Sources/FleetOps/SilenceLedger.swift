import Contracts
import Kafka

/// The silences on `alert-actions`, as `fleet-admin silence list` shows them, and the records
/// `silence add` and `silence expire` write. Pure: records in, records out.
///
/// A silence on one account is one record keyed by the account; a silence on every account (no
/// `--account`) is written once to every partition (key `*`), so the evaluator replica of each
/// partition holds it. The ledger counts such copies once (same silence id).
public enum SilenceLedger {
    /// One silence as the topic tells it.
    public struct Entry: Sendable, Equatable {
        /// The `silence` record (the first copy read).
        public var record: AlertActionRecord
        /// When it was expired by `silence expire`, if it was.
        public var expiredAt: Timestamp?

        /// The time it stops silencing: `until`, or the expiry when earlier.
        public var end: Timestamp {
            let until = record.until ?? record.at
            return expiredAt.map { min($0, until) } ?? until
        }
    }

    /// The silences in `records` (any order of partitions; offsets in order within one), by silence
    /// id, with the number of records that are not whole action records.
    public static func entries(from records: [ConsumedRecord]) -> (entries: [Entry], unreadable: Int) {
        var byId: [String: Entry] = [:]
        var order: [String] = []
        var expiries: [String: Timestamp] = [:]
        var unreadable = 0
        for record in records {
            guard let value = record.value, let action = try? RecordCoding.decode(AlertActionRecord.self, from: value),
                action.problem == nil
            else {
                unreadable += 1
                continue
            }
            guard let id = action.silenceId else { continue }
            switch action.kind {
            case .silence:
                if byId[id] == nil {
                    byId[id] = Entry(record: action)
                    order.append(id)
                }
            case .expireSilence:
                expiries[id] = min(expiries[id] ?? action.at, action.at)
            default:
                continue
            }
        }
        let entries = order.map { id in
            var entry = byId[id]!
            entry.expiredAt = expiries[id]
            return entry
        }
        return (entries, unreadable)
    }

    /// The records to write for `action` (a silence or its expiry) on `topic` of `partitions`
    /// partitions: keyed by the account, or one per partition (key `*`) for every account.
    public static func records(for action: AlertActionRecord, topic: String, partitions: Int) throws -> [OutgoingRecord]
    {
        let value = try RecordCoding.encode(action)
        guard action.accountId == AlertActionRecord.everyAccount else {
            return [OutgoingRecord(topic: topic, key: action.accountId, value: value)]
        }
        return (0..<max(1, partitions)).map {
            OutgoingRecord(topic: topic, partition: Int32($0), key: Array(action.accountId.utf8), value: value)
        }
    }

    /// One line of `silence list`: id, state, end, matchers, who, why.
    public static func line(_ entry: Entry, now: Timestamp) -> String {
        let r = entry.record
        let m = r.matchers ?? SilenceMatchers()
        var matchers: [String] = []
        if let a = m.account { matchers.append("account=\(a)") }
        if let x = m.rule { matchers.append("rule=\(x)") }
        if let x = m.type { matchers.append("type=\(x.rawValue)") }
        if let x = m.tier { matchers.append("tier=\(x.rawValue)") }
        if let x = m.destination { matchers.append("destination=\(x)") }
        let state = entry.expiredAt != nil && entry.end <= now ? "expired" : entry.end <= now ? "ended" : "active"
        let why = r.reason.map { " \"\($0)\"" } ?? ""
        return
            "\(r.silenceId ?? "?")  \(state)  until \(entry.end.rfc3339)  \(matchers.joined(separator: " "))  by \(r.by)\(why)"
    }
}
