import EventInputs
import HealthModel
import Testing

/// The `segment` format on the shipped sample (Segment's spec: track, identify, group calls).
@Suite struct SegmentNormaliserTests {
    @Test func callsBecomeEventsByTheShippedMapping() throws {
        let normaliser = try shippedNormaliser("segment-events")
        let results = try sampleLines("segment-events.jsonl").map { try normaliser.normalise($0) }
        let events = try results.map(event)
        #expect(events.count == 7)
        // track "Signed In": a login; messageId is the event id, userId the user, context.groupId the account.
        #expect(events[0]?.type == .login)
        #expect(events[0]?.eventId == "ajs-f8ca1e4de5024d9430b3928bd8ac6b96")
        #expect(events[0]?.accountId == "acme")
        #expect(events[0]?.userId == "u-9")
        #expect(events[0]?.occurredAt.rfc3339 == "2026-11-20T09:00:00.870Z")
        #expect(events[1]?.type == .featureUsed)
        #expect(events[1]?.properties.feature == "reports.export")
        #expect(events[2]?.type == .session)
        #expect(events[2]?.properties.minutes == 27.5)
        #expect(events[3]?.type == .npsResponse)
        #expect(events[3]?.properties.score == 3)
        // An event name the file does not map, and an identify call (not mapped either): skipped.
        #expect(results[4] == .skipped("no mapping matches a Segment track call"))
        #expect(results[5] == .skipped("no mapping matches a Segment identify call"))
        // group: its own groupId is the account; traits through the tier table.
        #expect(events[6]?.type == .accountUpdated)
        #expect(events[6]?.accountId == "acme")
        #expect(events[6]?.properties.name == "Acme Corp")
        #expect(events[6]?.properties.tier == .enterprise)
        #expect(events[6]?.properties.mrr == 25000)
    }

    @Test func aConfiguredTraitIsTheAccount() throws {
        let normaliser = try normaliser(
            """
            inputs:
              - topic: s
                format: segment
                account: context.traits.company_id
                unmatched: dead_letter
                events:
                  Signed In: login
                identify: login
            """)
        let track =
            #"{"type":"track","event":"Signed In","messageId":"m1","timestamp":"2026-11-20T09:00:00Z","context":{"traits":{"company_id":"initech"}}}"#
        #expect(try event(normaliser.normalise(track.bytes))?.accountId == "initech")
        let identify =
            #"{"type":"identify","messageId":"m2","timestamp":"2026-11-20T09:00:00Z","userId":"u1","context":{"traits":{"company_id":"initech"}}}"#
        #expect(try event(normaliser.normalise(identify.bytes))?.type == .login)
        // No account where the file says: the dead-letter reason names the path.
        let anonymous = #"{"type":"track","event":"Signed In","messageId":"m3","timestamp":"2026-11-20T09:00:00Z"}"#
        do {
            _ = try normaliser.normalise(anonymous.bytes)
            Issue.record("a call without its account was mapped")
        } catch {
            #expect(error.code == "mapping_missing_field")
            #expect(error.path == "context.traits.company_id")
        }
        // A page call is not mapped: with unmatched: dead_letter it is refused as no_mapping.
        let page = #"{"type":"page","messageId":"m4","timestamp":"2026-11-20T09:00:00Z"}"#
        #expect(throws: InputRejection(code: "no_mapping", reason: "no mapping of s matches a Segment page call")) {
            try normaliser.normalise(page.bytes)
        }
    }
}
