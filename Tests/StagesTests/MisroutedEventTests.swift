import Contracts
import Foundation
import HealthModel
import Kafka
import Logging
import Stages
import Testing
import WorkerRuntime

/// Events on `account-events` whose key is not their `account_id` (or that have none) are not
/// scored where they landed: they are re-published keyed by their account id, as a repartition
/// topic does, once, and counted once by their account.
@Suite struct MisroutedEventTests {
    /// 2026-11-20T00:00:00Z
    static let start: Int64 = 1_795_132_800_000

    static func json(
        _ id: String, account: String, at ms: Int64, type: String = "login",
        properties: String = "{}"
    ) -> [UInt8] {
        let time = Timestamp(millisecondsSinceEpoch: ms).description
        let head = #"{"event_id":"\#(id)","account_id":"\#(account)","type":"\#(type)","occurred_at":"\#(time)""#
        return Array((head + #","user_id":"u-1","properties":\#(properties)}"#).utf8)
    }

    static func record(
        _ value: [UInt8], key: String?, partition: Int32 = 1, offset: Int64 = 42,
        headers: [KafkaHeader] = []
    ) -> ConsumedRecord {
        ConsumedRecord(
            topic: "account-events", partition: partition, offset: offset, key: key.map { Array($0.utf8) },
            value: value, headers: headers, timestamp: nil)
    }

    static func scorer(partition: Int32) -> ProcessorHarness<ScorerProcessor> {
        ProcessorHarness(processor: ScorerProcessor(scoresTopic: "health-scores", live: false), partition: partition)
    }

    // Reproduced: an event keyed by a ticket id was scored on the partition it landed on, forking
    // the account's state.
    @Test func anEventKeyedByAnotherIdIsRePublishedKeyedByItsAccountNotScoredHere() {
        let harness = Self.scorer(partition: 1)
        let value = Self.json(
            "e-1", account: "acme", at: Self.start, type: "ticket_opened",
            properties: #"{"ticket_id":"T-9"}"#)
        let trace = KafkaHeader(name: "traceparent", text: "00-abc-01")
        let outcome = harness.process(Self.record(value, key: "T-9", headers: [trace]), now: Self.start + 60_000)
        guard case .emitted(let outputs) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(outputs.count == 1, "one copy, no score: \(outputs.map(\.topic))")
        let copy = outputs.first
        #expect(copy?.topic == "account-events")
        #expect(copy?.key == Array("acme".utf8))
        #expect(copy?.partition == nil, "the partitioner places it by its key")
        #expect(copy?.value == value, "the event's bytes unchanged")
        #expect(copy?.headers == [trace, KafkaHeader(name: "fleet.repartitioned.from", text: "account-events[1]@42")])
        #expect(harness.state["acme"] == nil, "no state for acme on the partition it landed on")
        #expect(harness.context.watermark == nil, "it does not move this partition's time")
    }

    @Test func anUnkeyedEventIsRePublishedToo() {
        let harness = Self.scorer(partition: 1)
        for key in [nil, ""] as [String?] {
            let value = Self.json("e-\(key ?? "nil")", account: "acme", at: Self.start)
            let outcome = harness.process(Self.record(value, key: key), now: Self.start + 60_000)
            guard case .emitted(let outputs) = outcome else {
                Issue.record("refused: \(outcome)")
                return
            }
            #expect(outputs.map(\.topic) == ["account-events"])
            #expect(outputs.first?.key == Array("acme".utf8))
        }
        #expect(harness.state["acme"] == nil)
    }

    // No loop: a copy whose key still is not its account id goes to the dead-letter topic.
    @Test func aCopyStillMisKeyedIsDeadLetteredNotRePublishedAgain() {
        let harness = Self.scorer(partition: 0)
        let mark = KafkaHeader(name: "fleet.repartitioned.from", text: "account-events[1]@42")
        let value = Self.json("e-1", account: "acme", at: Self.start)
        let copy = Self.record(value, key: "T-9", partition: 0, headers: [mark])
        let outcome = harness.process(copy, now: Self.start + 60_000)
        guard case .rejected(let rejection) = outcome else {
            Issue.record("not refused: \(outcome)")
            return
        }
        #expect(rejection.code == "repartition_loop")
        #expect(
            rejection.reason.contains("account-events[1]@42") && rejection.reason.contains("\"acme\""),
            "\(rejection.reason)")
        #expect(harness.state["acme"] == nil)
    }

    // The copy, keyed by its account, is scored where it lands.
    @Test func aCopyKeyedByItsAccountIsScored() {
        let harness = Self.scorer(partition: 0)
        let mark = KafkaHeader(name: "fleet.repartitioned.from", text: "account-events[1]@42")
        let value = Self.json("e-1", account: "acme", at: Self.start)
        let copy = Self.record(value, key: "acme", partition: 0, headers: [mark])
        let outcome = harness.process(copy, now: Self.start + 60_000)
        guard case .emitted(let outputs) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(outputs.map(\.topic) == ["health-scores"])
        #expect(harness.state["acme"] != nil)
    }
}
