import Contracts
import HealthModel

/// What became of an account: the outcome events of `account-events` (`account_churned`,
/// `account_renewed`) that tell whether an alert was a false alarm, a save, or a warning of churn.
public struct AccountOutcome: Sendable, Hashable {
    /// The outcome, by its event type.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case churned = "account_churned"
        case renewed = "account_renewed"
    }

    /// The account.
    public var accountId: String
    /// Churned or renewed.
    public var kind: Kind
    /// When (the event's `occurred_at`).
    public var at: Timestamp

    /// An outcome from its parts.
    public init(accountId: String, kind: Kind, at: Timestamp) {
        self.accountId = accountId
        self.kind = kind
        self.at = at
    }

    /// The outcome an event states, or nil for any other event type.
    public init?(event: AccountEvent) {
        guard let kind = Kind(rawValue: event.typeName) else { return nil }
        self.init(accountId: event.accountId, kind: kind, at: event.occurredAt)
    }
}
