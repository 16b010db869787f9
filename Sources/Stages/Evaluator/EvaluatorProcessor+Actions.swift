import AlertRules
import Contracts
import Kafka
import WorkerRuntime

/// The `alert-actions` side of the evaluator (issue 24): clicks and silences applied to the
/// account's state (on its changelog with the rest, so a restart or a rebalance keeps them), and
/// the verdict on each alert raised. A silence on every account lives under the state key `*`,
/// one copy per partition (`fleet-admin silence add` writes one to every partition).
extension EvaluatorProcessor {
    /// The state key of silences on every account.
    static let everyAccountKey = AlertActionRecord.everyAccount

    /// Applies one `alert-actions` record. An unreadable one is dead-lettered with its reason; an
    /// action not whole, or applied before, changes nothing (counted).
    func applyAction(_ record: ConsumedRecord, context: ProcessingContext<AccountAlertState>) throws(Rejection) {
        let action: AlertActionRecord
        do {
            action = try RecordCoding.decode(AlertActionRecord.self, from: record.value ?? [])
        } catch {
            lifecycle.countAction("unreadable")
            throw Rejection(
                code: "invalid_action_record",
                reason: "not an alert-actions record: \(RecordCoding.describe(error).prefix(200))")
        }
        let key = action.accountId
        let before = context.state[key]
        var state = before ?? AccountAlertState()
        let application = engine.apply(action, to: &state)
        lifecycle.count(application)
        if case .refused = application { return }
        if application == .duplicate { return }
        // The episode's opening messages show what was done (edited in place by the dispatcher).
        var edits: [OutgoingRecord] = []
        if application == .applied {
            lifecycle.observe(action, before: before, after: state)
            for update in engine.actionUpdates(for: action, state: &state) {
                do {
                    edits.append(try encode(update))
                } catch {
                    context.emitDeadLetter(
                        key: Array(update.destination.utf8), value: Array(update.alertId.utf8), rejection: error)
                }
            }
        }
        store(state, for: key, replacing: before, context: context)
        for edit in edits { context.emit(edit) }
    }

    /// The alerts to send of those the rules raised for `state`'s account; the rest are counted
    /// and added to `held`, marked `suppressed` with the reason, for the delivery log's record.
    func lifecycleFiltered(
        _ alerts: [AlertRecord], state: inout AccountAlertState, context: ProcessingContext<AccountAlertState>,
        held: inout [AlertRecord]
    ) -> [AlertRecord] {
        guard !alerts.isEmpty else { return alerts }
        let every = context.state[Self.everyAccountKey]
        var out: [AlertRecord] = []
        for alert in alerts {
            switch engine.lifecycleVerdict(for: alert, state: &state, everyAccount: every) {
            case .send(let sent): out.append(sent)
            case .suppressed(let reason):
                lifecycle.suppressed(reason)
                var record = alert
                record.suppressed = reason
                held.append(record)
            }
        }
        return out
    }
}
