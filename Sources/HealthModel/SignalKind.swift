import Contracts

/// The signals the model computes. The raw value is the bit in the "top signals" masks kept in state,
/// so never reorder existing cases.
enum SignalKind: UInt8, Sendable, CaseIterable {
    case loginsDown = 0
    case activeUsersDown, usageDown, inactivity, apiErrors
    case ticketSpike, escalations, negativeSentiment, npsDetractor
    case paymentFailures, billingRetryFailed, seatsDown, renewalSoon, cancellationScheduled, championLeft
    case seatsGrowth, usageGrowth, featureAdoption, npsPromoter

    var code: String {
        switch self {
        case .loginsDown: SignalCode.loginsDown
        case .activeUsersDown: SignalCode.activeUsersDown
        case .usageDown: SignalCode.usageDown
        case .inactivity: SignalCode.inactivity
        case .apiErrors: SignalCode.apiErrors
        case .ticketSpike: SignalCode.ticketSpike
        case .escalations: SignalCode.escalations
        case .negativeSentiment: SignalCode.negativeSentiment
        case .npsDetractor: SignalCode.detractorNPS
        case .paymentFailures: SignalCode.paymentFailures
        case .billingRetryFailed: SignalCode.billingRetryFailed
        case .seatsDown: SignalCode.seatsDown
        case .renewalSoon: SignalCode.renewalSoon
        case .cancellationScheduled: SignalCode.cancellationScheduled
        case .championLeft: SignalCode.championLeft
        case .seatsGrowth: SignalCode.seatsGrowth
        case .usageGrowth: SignalCode.usageGrowth
        case .featureAdoption: SignalCode.featureAdoption
        case .npsPromoter: SignalCode.promoterNPS
        }
    }

    var family: SignalFamily {
        switch self {
        case .usageDown, .apiErrors, .usageGrowth, .featureAdoption: .productUsage
        case .loginsDown, .activeUsersDown, .inactivity: .engagement
        case .ticketSpike, .escalations, .negativeSentiment, .npsDetractor, .npsPromoter: .support
        case .paymentFailures, .billingRetryFailed, .seatsDown, .renewalSoon, .cancellationScheduled, .championLeft,
            .seatsGrowth:
            .commercial
        }
    }

    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// A risk of another kind than activity (support or commercial) that makes a drop of activity
    /// count in full: the two together say more than either alone.
    var corroboratesDrops: Bool {
        switch self {
        case .ticketSpike, .escalations, .negativeSentiment, .npsDetractor, .paymentFailures, .billingRetryFailed,
            .seatsDown, .renewalSoon, .cancellationScheduled, .championLeft:
            true
        default: false
        }
    }
}

/// Which daily series a usage signal is about (for its text).
enum UsageSeries: UInt8, Sendable {
    case featureUses, sessionMinutes, apiCalls, logins, activeUsers

    var label: String {
        switch self {
        case .featureUses: "Feature use"
        case .sessionMinutes: "Session minutes"
        case .apiCalls: "API calls"
        case .logins: "Logins"
        case .activeUsers: "Active users"
        }
    }
}

/// A computed signal before it becomes a `Signal`: numbers only, text is made when a record is emitted.
struct RawSignal: Sendable {
    var kind: SignalKind
    /// Points off the family (negative signals) or the strength in points (positive signals).
    var points: Double
    /// Points moved on the overall score (filled in when the families are combined).
    var impact: Double = 0
    var value: Double
    var baseline: Double?
    var count: Int = 0
    var days: Int = 0
    var series: UsageSeries = .featureUses
    var before: Int = 0
    var after: Int = 0
}

/// Readable text with the numbers.
enum SignalText {
    static func percent(_ x: Double) -> Int { Int((abs(x) * 100).rounded()) }

    static func oneDecimal(_ x: Double) -> String {
        let t = Int((x * 10).rounded())
        let sign = t < 0 ? "-" : ""
        return "\(sign)\(abs(t) / 10).\(abs(t) % 10)"
    }

    static func ago(_ days: Int) -> String {
        switch days {
        case ...0: "today"
        case 1: "yesterday"
        default: "\(days) days ago"
        }
    }

    static func plural(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }

    /// "3-7 weeks" when both ends are whole weeks, else "21-50 days".
    static func span(from: Int, to: Int) -> String {
        from % 7 == 0 && to % 7 == 0 ? "\(from / 7)-\(to / 7) weeks" : "\(from)-\(to) days"
    }

    static func text(_ s: RawSignal, baselineDays: Int, recentDays: Int) -> String {
        switch s.kind {
        case .loginsDown, .activeUsersDown, .usageDown:
            let label =
                s.kind == .loginsDown ? "Logins" : (s.kind == .activeUsersDown ? "Active users" : s.series.label)
            // `days` is set when the drop is that of the last few days (a dark spell), not the week's.
            let recent = s.days > 0 ? " over the last \(s.days) days" : ""
            // `before`: days of the window most accounts were quiet together (expected less on them).
            let shared =
                s.before > 0 ? ", allowing for \(plural(s.before, "day")) quiet fleet-wide or on holiday" : ""
            // `after`: days the compared baseline ends earlier than the usual one (a slow decline
            // judged against the account's level before it).
            let against =
                s.after > 0
                ? "its level \(span(from: recentDays + s.after, to: recentDays + s.after + baselineDays)) ago"
                : "\(baselineDays)-day baseline"
            return "\(label) down \(percent(s.value))%\(recent) vs \(against)\(shared)"
        case .usageGrowth:
            return "\(s.series.label) up \(percent(s.value))% vs \(baselineDays)-day baseline"
        case .inactivity:
            // `baseline`: the logins the account's own rhythm expected over the silence.
            let expected = s.baseline.map { ", about \(Int($0)) logins expected" } ?? ""
            return "No activity for \(s.count) days"
                + (s.before > 0
                    ? " (\(s.before) of them quiet fleet-wide or on holiday, not counted\(expected))"
                    : expected.isEmpty ? "" : " (\(expected.dropFirst(2)))")
        case .apiErrors:
            return "API error rate \(oneDecimal(s.value * 100))% (normal \(oneDecimal((s.baseline ?? 0) * 100))%)"
        case .ticketSpike:
            return "\(plural(s.count, "ticket")) this week, \(oneDecimal(s.value / max(s.baseline ?? 1, 0.01)))x normal"
        case .escalations:
            return "\(plural(s.count, "escalated ticket")) in \(s.days) days"
        case .negativeSentiment:
            return "Ticket sentiment \(oneDecimal(s.value)) over \(plural(s.count, "ticket")) in \(s.days) days"
        case .npsDetractor:
            return "NPS \(oneDecimal(s.value)) (detractor) in the last \(s.days) days"
        case .npsPromoter:
            return "NPS \(oneDecimal(s.value)) (promoter) in the last \(s.days) days"
        case .paymentFailures:
            return "\(plural(s.count, "failed payment")) in \(s.days) days" + (s.before == 1 ? ", paid since" : "")
        case .billingRetryFailed:
            return "Billing retry failed \(ago(s.days))" + (s.before == 1 ? ", paid since" : "")
        case .seatsDown:
            return "Seats -\(percent(s.value))% in \(s.days) days (\(s.before) to \(s.after))"
        case .seatsGrowth:
            return "Seats +\(percent(s.value))% in \(s.days) days (\(s.before) to \(s.after))"
        case .renewalSoon:
            return s.count == 0 ? "Renewal today" : "Renewal in \(plural(s.count, "day"))"
        case .cancellationScheduled:
            return "Subscription cancellation scheduled"
        case .championLeft:
            return "Champion left \(ago(s.days))"
        case .featureAdoption:
            return "\(plural(s.count, "new feature")) adopted in \(s.days) days"
        }
    }
}
