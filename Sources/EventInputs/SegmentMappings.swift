import Yams

/// The Segment format as mappings: a `track` call whose `event` is configured becomes its type;
/// `identify` and `group` calls become the types configured for them. Every call's `messageId` is
/// the event id, its `timestamp` the time and its `userId` the user; the account is
/// `context.groupId` (a `group` call's own `groupId`) unless `account:` names another path, such
/// as a trait (`context.traits.company_id`).
extension InputsFileReader {
    static let segmentDefaults: [String: ValueSource] = [
        "event_id": ValueSource(.path(FieldPath(keys: ["messageId"]))),
        "occurred_at": ValueSource(.path(FieldPath(keys: ["timestamp"]))),
        "user_id": ValueSource(.path(FieldPath(keys: ["userId"]))),
    ]

    mutating func readSegment(_ map: Node.Mapping, key: String) -> [InputRule] {
        var account = ValueSource(.path(FieldPath(keys: ["context", "groupId"])))
        if let accountNode = map[text: "account"] {
            if let source = readSource(accountNode, key: key + ".account") { account = source }
        }
        var defaults = Self.segmentDefaults
        defaults["account_id"] = account
        var rules: [InputRule] = []
        let typePath = FieldPath(keys: ["type"])
        if let eventsNode = map[text: "events"] {
            if let pairs = eventsNode.mapping {
                for (k, v) in pairs {
                    let event = k.string ?? ""
                    let conditions: [InputRule.Condition] = [
                        .oneOf(typePath, ["track"]), .oneOf(FieldPath(keys: ["event"]), [event]),
                    ]
                    if let rule = readSegmentCall(
                        v, key: "\(key).events.\(event)", defaults: defaults, conditions: conditions,
                        name: "track \(event)")
                    {
                        rules.append(rule)
                    }
                }
            } else {
                problem(eventsNode, key + ".events", "expected a mapping of track event names to types")
            }
        }
        for call in ["identify", "group"] {
            guard let node = map[text: call] else { continue }
            var callDefaults = defaults
            if call == "group" { callDefaults["account_id"] = ValueSource(.path(FieldPath(keys: ["groupId"]))) }
            if let rule = readSegmentCall(
                node, key: "\(key).\(call)", defaults: callDefaults, conditions: [.oneOf(typePath, [call])], name: call)
            {
                rules.append(rule)
            }
        }
        if rules.isEmpty && problems.isEmpty {
            problem(nil, key, "maps nothing: give events (track names), identify or group")
        }
        return rules
    }

    /// `type_name`, or a mapping with `type` and the fields and properties it sets.
    mutating func readSegmentCall(
        _ node: Node, key: String, defaults: [String: ValueSource], conditions: [InputRule.Condition], name: String
    ) -> InputRule? {
        if let type = node.string {
            guard EventFields.typeNames.contains(type) else {
                problem(node, key, "\"\(type.prefix(64))\" is not an event type (see docs/events.md)")
                return nil
            }
            return InputRule(name: name, line: node.mark?.line, conditions: conditions, type: type, fields: defaults)
        }
        return readRule(
            node, key: key, debezium: false, defaults: defaults, conditions: conditions, fallbackName: name)
    }
}
