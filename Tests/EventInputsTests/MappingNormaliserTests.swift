import EventInputs
import HealthModel
import Testing

/// The `mapping` format: the shipped Stripe and Zendesk mappings on their samples, and the value
/// conversions (units, scales, tables, templates, constants) as a table.
@Suite struct MappingNormaliserTests {
    @Test func stripeEvents() throws {
        let normaliser = try shippedNormaliser("stripe-events")
        let results = try sampleLines("stripe-events.jsonl").map { try normaliser.normalise($0) }
        let events = try results.map(event)
        // The first failed attempt: payment_failed, cents to currency units, created in seconds.
        #expect(events[0]?.type == .paymentFailed)
        #expect(events[0]?.accountId == "globex")
        #expect(events[0]?.eventId == "evt_1QfA2b2eZvKYlo2C0x9YbW3e")
        #expect(events[0]?.properties.amount == 4200)
        #expect(events[0]?.properties.currency == "eur")
        #expect(events[0]?.properties.invoiceId == "in_1QfA2a2eZvKYlo2CHd7o2YQm")
        #expect(events[0]?.occurredAt.rfc3339 == "2026-11-20T09:00:00Z")
        // The second attempt of the same invoice: a failed billing retry.
        #expect(events[1]?.type == .billingRetryFailed)
        #expect(events[1]?.properties.invoiceId == "in_1QfA2a2eZvKYlo2CHd7o2YQm")
        // The quantity changed: seats.
        #expect(events[2]?.type == .seatsChanged)
        #expect(events[2]?.accountId == "initech")
        #expect(events[2]?.properties.seats == 27)
        // cancel_at_period_end turned on: a scheduled cancellation.
        #expect(events[3]?.type == .subscriptionCancelled)
        #expect(events[3]?.accountId == "umbrella")
        // An event type no mapping names: skipped.
        #expect(results[4] == .skipped("no mapping matches the record"))
    }

    @Test func zendeskTicketEvents() throws {
        let normaliser = try shippedNormaliser("zendesk-ticket-events")
        let events = try sampleLines("zendesk-ticket-events.jsonl").map { try event(normaliser.normalise($0)) }
        #expect(events.map { $0?.type } == [.ticketOpened, .ticketEscalated, .ticketClosed])
        #expect(events.allSatisfy { $0?.accountId == "acme" && $0?.properties.ticketId == "5158" })
        #expect(events[0]?.properties.priority == "high")
        #expect(events[1]?.properties.priority == "urgent")
    }

    /// One property, one source, one input value: what the event holds (or the rejection code).
    @Test(arguments: [
        ("amount: {path: v, scale: 0.01}", #"1999"#, "amount", "19.99"),
        ("amount: {path: v, scale: 0.01}", #""1999""#, "amount", "19.99"),
        ("amount: v", #"true"#, "amount", "mapping_wrong_type"),
        ("seats: v", #"12.0"#, "seats", "12"),
        ("seats: v", #"12.5"#, "seats", "mapping_bad_value"),
        ("seats: v", #""12""#, "seats", "12"),
        ("seats: v", #"1e300"#, "seats", "mapping_bad_value"),
        ("seats: v", #"[1]"#, "seats", "mapping_wrong_type"),
        ("ticket_id: v", #"4211"#, "ticket_id", "4211"),
        ("ticket_id: v", #"{"a":1}"#, "ticket_id", "mapping_wrong_type"),
        ("ticket_id: \"zd-{v}\"", #"7"#, "ticket_id", "zd-7"),
        ("ticket_id: \"zd-{v}\"", #"null"#, "ticket_id", "mapping_missing_field"),
        ("priority: {value: urgent}", #"0"#, "priority", "urgent"),
        ("priority: {path: v, map: {P1: urgent}}", #""P1""#, "priority", "urgent"),
        ("priority: {path: v, map: {P1: urgent}}", #""P3""#, "priority", "P3"),
        ("cancellation_scheduled: v", #""true""#, "cancellation_scheduled", "true"),
        ("cancellation_scheduled: v", #"1"#, "cancellation_scheduled", "mapping_wrong_type"),
        ("sentiment: v", #"null"#, "sentiment", "absent"),
    ])
    func valueConversions(source: String, input: String, property: String, expected: String) throws {
        let normaliser = try normaliser(
            """
            inputs:
              - topic: m
                format: mapping
                mappings:
                  - type: account_updated
                    event_id: {value: e1}
                    account_id: {value: acme}
                    occurred_at: {value: "2026-11-20T09:00:00Z"}
                    properties:
                      \(source)
            """)
        let record = #"{"v":\#(input)}"#
        do {
            guard case .event(_, let value) = try normaliser.normalise(record.bytes) else {
                Issue.record("skipped")
                return
            }
            let document = try #require(JSONValue.parse(value))
            let found = document.value(at: try #require(FieldPath("properties.\(property)")))
            #expect((found?.scalarText ?? "absent") == expected, "\(String(decoding: value, as: UTF8.self))")
        } catch let error as InputRejection {
            #expect(error.code == expected, "\(error)")
        }
    }

    /// Numeric times in each unit, and times out of range.
    @Test(arguments: [
        ("s", "1795165200", "2026-11-20T09:00:00Z"),
        ("ms", "1795165200123", "2026-11-20T09:00:00.123Z"),
        ("us", "1795165200123456", "2026-11-20T09:00:00.123Z"),
        ("s", "1795165200.5", "2026-11-20T09:00:00.500Z"),
        ("s", "-1", "mapping_bad_value"),
        ("s", "99999999999999999", "mapping_bad_value"),
        ("ms", "\"2026-11-20T09:00:00Z\"", "2026-11-20T09:00:00Z"),
        ("ms", "\"yesterday\"", "bad_timestamp"),
        ("ms", "false", "mapping_wrong_type"),
    ])
    func numericTimes(unit: String, input: String, expected: String) throws {
        let normaliser = try normaliser(
            """
            inputs:
              - topic: m
                format: mapping
                mappings:
                  - type: login
                    event_id: {value: e1}
                    account_id: {value: acme}
                    occurred_at: {path: t, unit: \(unit)}
            """)
        do {
            let made = try #require(try event(normaliser.normalise(#"{"t":\#(input)}"#.bytes)))
            #expect(made.occurredAt.rfc3339 == expected)
        } catch let error as InputRejection {
            #expect(error.code == expected, "\(error)")
        }
    }

    /// Hostile documents: nothing traps, each is refused with a code.
    @Test func hostileDocumentsAreRefused() throws {
        let normaliser = try shippedNormaliser("stripe-events")
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let huge = "{\"id\":\"" + String(repeating: "x", count: 1 << 21) + "\"}"
        for (record, code) in [(deep, "not_json"), (huge, "too_large"), ("\"text\"", "not_an_object"), ("", "empty")] {
            do {
                let result = try normaliser.normalise(Array(record.utf8))
                Issue.record("\(code): got \(result)")
            } catch {
                #expect(error.code == code)
            }
        }
    }
}
