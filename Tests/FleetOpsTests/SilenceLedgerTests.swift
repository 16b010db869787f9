import Contracts
import FleetOps
import Kafka
import Testing

/// What `fleet-admin silence add|list|expire` writes and reads on `alert-actions`: a silence on one
/// account is one record keyed by it, one on every account a copy per partition (key `*`), listed
/// once; an expiry ends it; records that are not actions are counted, not shown.
@Suite struct SilenceLedgerTests {
    /// 2026-11-20T00:00:00Z
    static let start = Timestamp(millisecondsSinceEpoch: 1_795_132_800_000)

    static func silence(_ id: String, account: String, matchers: SilenceMatchers) -> AlertActionRecord {
        AlertActionRecord(
            actionId: "silence-\(id)", kind: .silence, accountId: account, by: "dana", at: start,
            until: start.adding(milliseconds: 7 * 86_400_000), silenceId: id, matchers: matchers,
            reason: "migration week", source: .fleetAdmin)
    }

    static func consumed(_ records: [OutgoingRecord], from offset: Int64 = 0) -> [ConsumedRecord] {
        records.enumerated().map { i, r in
            ConsumedRecord(
                topic: r.topic, partition: r.partition ?? 0, offset: offset + Int64(i), key: r.key, value: r.value,
                headers: [], timestamp: nil)
        }
    }

    @Test func aSilenceOnOneAccountIsOneRecordKeyedByIt() throws {
        let action = Self.silence("s-1", account: "acme", matchers: SilenceMatchers(account: "acme"))
        let records = try SilenceLedger.records(for: action, topic: "alert-actions", partitions: 12)
        #expect(records.count == 1)
        #expect(records.first?.key == Array("acme".utf8) && records.first?.partition == nil)
    }

    @Test func aSilenceOnEveryAccountIsCopiedToEveryPartitionAndListedOnce() throws {
        let action = Self.silence("s-2", account: AlertActionRecord.everyAccount, matchers: SilenceMatchers(tier: .smb))
        let records = try SilenceLedger.records(for: action, topic: "alert-actions", partitions: 12)
        #expect(records.map(\.partition) == (0..<12).map { Int32($0) })
        #expect(records.allSatisfy { $0.key == Array("*".utf8) })
        let junk = ConsumedRecord(
            topic: "alert-actions", partition: 0, offset: 99, key: nil, value: Array("{}".utf8), headers: [],
            timestamp: nil)
        let (entries, unreadable) = SilenceLedger.entries(from: Self.consumed(records) + [junk])
        #expect(entries.count == 1 && unreadable == 1)
        let entry = try #require(entries.first)
        #expect(entry.end == Self.start.adding(milliseconds: 7 * 86_400_000))
        let line = SilenceLedger.line(entry, now: Self.start.adding(milliseconds: 60_000))
        #expect(line.hasPrefix("s-2  active  until 2026-11-27") && line.contains("tier=smb"), "\(line)")
        #expect(line.contains("by dana \"migration week\""))
    }

    @Test func anExpiryEndsTheSilenceAtItsTime() throws {
        let action = Self.silence(
            "s-3", account: "acme", matchers: SilenceMatchers(account: "acme", rule: "account-at-risk"))
        let expiredAt = Self.start.adding(milliseconds: 3_600_000)
        let expiry = AlertActionRecord(
            actionId: "expire-s-3", kind: .expireSilence, accountId: "acme", by: "dana", at: expiredAt,
            silenceId: "s-3", source: .fleetAdmin)
        let records =
            try SilenceLedger.records(for: action, topic: "alert-actions", partitions: 12)
            + SilenceLedger.records(for: expiry, topic: "alert-actions", partitions: 12)
        let entry = try #require(SilenceLedger.entries(from: Self.consumed(records)).entries.first)
        #expect(entry.expiredAt == expiredAt && entry.end == expiredAt)
        #expect(SilenceLedger.line(entry, now: Self.start.adding(milliseconds: 1_800_000)).contains("active"))
        #expect(SilenceLedger.line(entry, now: expiredAt).contains("expired"))
    }
}
