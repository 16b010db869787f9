import EventInputs
import HealthModel
import Testing

/// The `debezium` format on the shipped samples (Debezium's PostgreSQL connector envelopes for c,
/// u, d and r, with and without the schema wrapper) and on records built to fail.
@Suite struct DebeziumNormaliserTests {
    /// Each sample line of the tickets table: what it becomes.
    @Test func ticketRowChangesBecomeTicketEvents() throws {
        let normaliser = try shippedNormaliser("supportdb.public.tickets")
        let results = try sampleLines("supportdb.public.tickets.jsonl").map { try normaliser.normalise($0) }
        let events = try results.map(event)
        #expect(events.count == 5)
        // c: an insert opens a ticket, dated by its created_at column.
        #expect(events[0]?.type == .ticketOpened)
        #expect(events[0]?.accountId == "acme")
        #expect(events[0]?.eventId == "tickets-4211-opened")
        #expect(events[0]?.properties.ticketId == "4211")
        #expect(events[0]?.properties.priority == "high")
        #expect(events[0]?.occurredAt.rfc3339 == "2026-11-20T09:15:00Z")
        // u of priority to urgent: escalated, dated by the change's ts_ms.
        #expect(events[1]?.type == .ticketEscalated)
        #expect(events[1]?.eventId == "tickets-4211-escalated-24023384")
        #expect(events[1]?.occurredAt.rfc3339 == "2026-11-20T12:00:00.455Z")
        // u of status to solved: closed.
        #expect(events[2]?.type == .ticketClosed)
        // r: a snapshot row opens a ticket too (the same event id as its insert would have).
        #expect(events[3]?.type == .ticketOpened)
        #expect(events[3]?.accountId == "globex")
        // d: no mapping for deletes in the shipped file: skipped.
        #expect(results[4] == .skipped("no mapping matches op d of a table"))
    }

    @Test func subscriptionRowsUnderTheSchemaWrapper() throws {
        let normaliser = try shippedNormaliser("billingdb.public.subscriptions")
        let results = try sampleLines("billingdb.public.subscriptions.jsonl").map { try normaliser.normalise($0) }
        let seats = try #require(try event(results[0]))
        #expect(seats.type == .seatsChanged)
        #expect(seats.accountId == "initech")
        #expect(seats.properties.seats == 27)
        // updated_at is a MicroTimestamp: microseconds since the epoch.
        #expect(seats.occurredAt.rfc3339 == "2026-11-20T15:00:00Z")
        let cancelled = try #require(try event(results[1]))
        #expect(cancelled.type == .subscriptionCancelled)
        #expect(cancelled.accountId == "umbrella")
        // A null payload under the wrapper is a tombstone.
        #expect(results[2] == .skipped("tombstone"))
    }

    @Test func tombstonesAreSkipped() throws {
        let normaliser = try shippedNormaliser("supportdb.public.tickets")
        #expect(try normaliser.normalise(nil) == .skipped("tombstone"))
        #expect(try normaliser.normalise([]) == .skipped("tombstone"))
    }

    static let yaml = """
        inputs:
          - topic: t
            format: debezium
            unmatched: dead_letter
            tables:
              - table: tickets
                op: c
                type: ticket_opened
                event_id: "t-{after.id}"
                account_id: after.account_id
                properties:
                  ticket_id: after.id
                  sentiment: after.sentiment
        """

    /// Records that cannot be mapped: the dead-letter reason names the path and what was wrong.
    @Test(
        arguments: [
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"id":1}}"#,
                "mapping_missing_field", "after.account_id"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"account_id":"a"}}"#,
                "mapping_missing_field", "after.id"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"id":1,"account_id":{"x":1}}}"#,
                "mapping_wrong_type", "after.account_id"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":"soon","after":{"id":1,"account_id":"a"}}"#,
                "bad_timestamp", "occurred_at"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":-5,"after":{"id":1,"account_id":"a"}}"#,
                "mapping_bad_value", "ts_ms"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1e300,"after":{"id":1,"account_id":"a"}}"#,
                "mapping_bad_value", "ts_ms"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"id":1,"account_id":"a","sentiment":"x"}}"#,
                "mapping_wrong_type", "after.sentiment"
            ),
            (
                #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"id":1,"account_id":"a","sentiment":7}}"#,
                "bad_value", "properties.sentiment"
            ),
            (
                #"{"op":"u","source":{"table":"tickets"},"ts_ms":1795166100000,"after":{"id":1,"account_id":"a"}}"#,
                "no_mapping", nil
            ),
            (#"{"source":{"table":"tickets"},"after":{}}"#, "not_an_envelope", "op"),
            (#"{"op":"z","source":{"table":"tickets"}}"#, "not_an_envelope", "op"),
            (#"[1,2]"#, "not_an_envelope", nil),
            (#"{"op":"c""#, "not_json", nil),
        ] as [(String, String, String?)])
    func unmappableRecordsSayWhere(record: String, code: String, path: String?) throws {
        let normaliser = try normaliser(Self.yaml)
        #expect(throws: InputRejection.self) { try normaliser.normalise(record.bytes) }
        do {
            let result = try normaliser.normalise(record.bytes)
            Issue.record("expected \(code), got \(result)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.path == path, "\(error)")
        }
    }

    @Test func theDefaultTimeIsTheChangesTsMs() throws {
        let normaliser = try normaliser(Self.yaml)
        let record = #"{"op":"c","source":{"table":"tickets"},"ts_ms":1795166100123,"after":{"id":9,"account_id":"a"}}"#
        let made = try #require(try event(normaliser.normalise(record.bytes)))
        #expect(made.occurredAt.millisecondsSinceEpoch == 1_795_166_100_123)
        #expect(made.eventId == "t-9")
    }
}
