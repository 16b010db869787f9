import Contracts

/// How a message reads once people acted on its episode or the account recovered (issue 24,
/// update in place): the original alert, a state line under its header ("Acknowledged by @x at
/// 10:42", "Resolved by @x: false positive", "Recovered: health 78"), and once the episode is
/// closed a quiet sidebar and no lifecycle buttons.
extension SlackMessageRenderer {
    /// The state line of `update` in mrkdwn (user ids as mentions, times as Slack dates that each
    /// reader sees in their own time zone).
    public func stateLine(_ update: MessageUpdate) -> String {
        let who = SlackText.mention(update.by).map { " by \($0)" } ?? ""
        let when = SlackDate.mrkdwn(update.at)
        switch update.state {
        case .acknowledged:
            return ":eyes: *Acknowledged*\(who) · \(when)"
        case .taken:
            return ":raising_hand: *Taken*\(who) · \(when)"
        case .snoozed:
            let until = update.until.map { " until \(SlackDate.mrkdwn($0))" } ?? ""
            return ":zzz: *Snoozed*\(who)\(until)"
        case .resolved:
            let outcome = update.outcome.map { ": \(Self.outcomeText($0))" } ?? ""
            return ":white_check_mark: *Resolved*\(who)\(outcome) · \(when)"
        case .recovered:
            let health = update.score.map { ": health \(min(max($0, 0), 100))" } ?? ""
            return ":large_green_circle: *Recovered*\(health) · \(when)"
        }
    }

    /// An outcome as people say it.
    static func outcomeText(_ outcome: AlertOutcome) -> String {
        switch outcome {
        case .falsePositive: "false positive"
        case .resolved: "handled, account fine"
        case .escalatedToChurn: "escalated to churn"
        }
    }

    /// Whether `alert`'s message shows a closed episode (quiet colour, no lifecycle buttons).
    static func isClosed(_ alert: AlertRecord) -> Bool { alert.update?.state.closesEpisode ?? false }
}
