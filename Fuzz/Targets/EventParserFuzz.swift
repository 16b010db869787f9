import Contracts
import HealthModel

/// `account-events` values: the parser never traps, and an event it accepts, written back as
/// JSON, parses again to the same event (what it validated is what it keeps).
enum EventParserFuzz {
    static let target = FuzzTarget(name: "event-parser", summary: "EventParser.parse (account-events values)") {
        input in
        let parser = EventParser()
        guard let event = try? parser.parse(input) else { return }
        let again: AccountEvent
        do {
            again = try parser.parse(json(event))
        } catch {
            FuzzCheck.fail("an accepted event, written back, is refused: \(error) (\(json(event)))")
        }
        FuzzCheck.require(again == event, "an accepted event, written back, parses differently: \(json(event))")
    }

    /// The event as the JSON a producer would send (every field the parser keeps).
    static func json(_ event: AccountEvent) -> String {
        var fields = [
            "\"event_id\":\(quoted(event.eventId))", "\"account_id\":\(quoted(event.accountId))",
            "\"type\":\(quoted(event.typeName))", "\"occurred_at\":\(quoted(event.occurredAt.rfc3339))",
        ]
        if let user = event.userId { fields.append("\"user_id\":\(quoted(user))") }
        let p = event.properties
        var props: [String] = []
        func add(_ key: String, _ value: String?) { if let value { props.append("\"\(key)\":\(value)") } }
        add("feature", p.feature.map(quoted))
        add("minutes", p.minutes.map(number))
        add("count", p.count.map { String($0) })
        add("errors", p.errors.map { String($0) })
        add("score", p.score.map { String($0) })
        add("ticket_id", p.ticketId.map(quoted))
        add("priority", p.priority.map(quoted))
        add("sentiment", p.sentiment.map(number))
        add("amount", p.amount.map(number))
        add("currency", p.currency.map(quoted))
        add("payment_id", p.paymentId.map(quoted))
        add("invoice_id", p.invoiceId.map(quoted))
        add("seats", p.seats.map { String($0) })
        add("name", p.name.map(quoted))
        add("tier", p.tier.map { quoted($0.rawValue) })
        add("mrr", p.mrr.map(number))
        add("owner", p.owner.map(quoted))
        add("renewal_date", p.renewalDate.map(quoted))
        add("timezone", p.timezone.map(quoted))
        add("url", p.url.map(quoted))
        add("status", p.status.map(quoted))
        add("cancellation_scheduled", p.cancellationScheduled.map { $0 ? "true" : "false" })
        fields.append("\"properties\":{\(props.joined(separator: ","))}")
        return "{\(fields.joined(separator: ","))}"
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A finite double in JSON (Swift's shortest round-tripping spelling).
    static func number(_ value: Double) -> String { "\(value)" }
}
