import Contracts

extension RulesConfig {
    /// Parses and validates a rules file. Errors name the file, the line, the key and the reason;
    /// the first of them is thrown (`problems(yaml:file:)` gives them all).
    ///
    /// - Parameters:
    ///   - yaml: the file's text.
    ///   - file: the name to put in errors (usually the path).
    public static func parse(yaml: String, file: String) throws -> RulesConfig {
        let checked = check(yaml: yaml, file: file)
        if let first = checked.problems.first { throw first }
        guard let config = checked.config else {
            throw AlertRulesError.invalidConfig(file: file, line: nil, key: "(top level)", reason: "not a rules file")
        }
        return config
    }

    /// Parses and validates a rules file and returns EVERY problem found, in file order, each with
    /// the file, the line, the key and the reason (`fleet-admin rules check` and `check-config` list
    /// them all); the configuration only when there is none. A problem in the file's structure
    /// (not YAML, not a map, no `version: 1`) stops the check; past that, each rule, route,
    /// destination, inhibition, suppression, default and priority is checked on its own.
    public static func check(yaml: String, file: String) -> (config: RulesConfig?, problems: [AlertRulesError]) {
        let found = RulesProblemCollector(file: file)
        guard
            let top = found.attempt({
                try YAMLValue.document(yaml: yaml, file: file).map(allowed: [
                    "version", "defaults", "rules", "routes", "destinations", "inhibit", "suppress", "priorities",
                    "sla",
                ])
            }),
            found.attempt({ () throws -> Bool in
                let version = try top.require("version")
                guard try version.int() == 1 else {
                    throw version.error("unsupported version; this build reads version 1")
                }
                return true
            }) != nil
        else { return (nil, found.problems) }

        var defaults = RuleDefaults()
        if let d = top["defaults"],
            let m = found.attempt({
                try d.map(allowed: ["cooldown", "repeat_interval", "repeat_when_worse_by", "dedup_window", "tier"])
            })
        {
            if let v = m["cooldown"], let x = found.attempt({ try v.duration() }) { defaults.cooldownMs = x }
            if let v = m["repeat_interval"], let x = found.attempt({ try positive(v) }) {
                defaults.repeatIntervalMs = x
            }
            if let v = m["repeat_when_worse_by"], let x = found.attempt({ try v.double() }) {
                defaults.repeatWhenWorseBy = x
            }
            if let v = m["dedup_window"], let x = found.attempt({ try positive(v) }) { defaults.dedupWindowMs = x }
            if let v = m["tier"], let x = found.attempt({ try v.oneOf(Tier.self, allowed: Tier.allCases) }) {
                defaults.tier = x
            }
        }

        var destinations: [String: DestinationPolicy] = [:]
        var destinationOrder: [String] = []
        var businessHours: [String: BusinessHours] = [:]
        for (name, value) in found.attempt({ try top.require("destinations").namedEntries() }) ?? [] {
            destinationOrder.append(name)
            if let policy = found.attempt({ try parseDestination(value) }) { destinations[name] = policy }
            let quietZone = destinations[name]?.quietHours?.timeZone
            if let hours = found.attempt({ try parseBusinessHours(value, quietZone: quietZone) }) ?? nil {
                businessHours[name] = hours
            }
        }

        var rules: [(item: YAMLValue, rule: AlertRule)] = []
        let ruleItems = found.attempt({ try top.require("rules").list() }) ?? []
        for item in ruleItems {
            guard let rule = found.attempt({ try parseRule(item, defaults: defaults) }) else { continue }
            if rules.contains(where: { $0.rule.name == rule.name }) {
                _ = found.attempt {
                    throw (try item.map(allowed: ruleKeys).require("name")).error(
                        "duplicate rule name \"\(rule.name)\"")
                }
                continue
            }
            rules.append((item, rule))
        }
        for (item, rule) in rules {
            guard case .episodeEnded(let target) = rule.condition else { continue }
            _ = found.attempt {
                let whenValue = try item.map(allowed: ruleKeys).require("when")
                let source = try whenValue.map(allowed: ["episode_ended"]).require("episode_ended")
                guard let targetRule = rules.first(where: { $0.rule.name == target })?.rule else {
                    // A rule of that name that failed to parse is reported already.
                    guard ruleItems.contains(where: { Self.ruleName($0) == target }) else {
                        throw source.error("no rule named \"\(target)\"")
                    }
                    return
                }
                switch targetRule.condition {
                case .trigger, .episodeEnded: throw source.error("rule \"\(target)\" has no episodes to end")
                default: break
                }
            }
        }

        var routes: [Route] = []
        let items1: [YAMLValue] = found.attempt({ try top.require("routes").list() }) ?? []
        for (i, item) in items1.enumerated() {
            let route = found.attempt { () throws -> Route in
                let m = try item.map(allowed: ["name", "destination", "match", "continue"])
                let destinationValue = try m.require("destination")
                let destination = try destinationValue.nonEmptyString()
                guard destinationOrder.contains(destination) else {
                    throw destinationValue.error(
                        "destination \"\(destination)\" is not declared under destinations (declared: \(destinationOrder.joined(separator: ", ")))"
                    )
                }
                let matcher = try m["match"].map(parseMatcher) ?? RouteMatcher()
                return Route(
                    name: try m["name"]?.nonEmptyString() ?? "route-\(i + 1)", match: matcher,
                    destination: destination, continueMatching: try m["continue"]?.bool() ?? false)
            }
            if let route { routes.append(route) }
        }

        var inhibitions: [Inhibition] = []
        if let list = top["inhibit"] {
            let items2: [YAMLValue] = found.attempt({ try list.list() }) ?? []
            for (i, item) in items2.enumerated() {
                let inhibition = found.attempt { () throws -> Inhibition in
                    let m = try item.map(allowed: ["name", "when", "mute"])
                    let when = try m.require("when").oneOf(
                        Inhibition.Source.self, allowed: [.cancellationScheduled, .openCriticalAlert])
                    let mute = try m.require("mute").map(allowed: ["types", "max_severity"])
                    let types = try mute["types"].map {
                        try Set($0.stringList().map { try $0.oneOf(AlertType.self, allowed: alertTypes) })
                    }
                    let maxSeverity = try mute["max_severity"]?.oneOf(Severity.self, allowed: [.low, .medium, .high])
                    return Inhibition(
                        name: try m["name"]?.nonEmptyString() ?? "inhibit-\(i + 1)", when: when,
                        muteTypes: types, muteMaxSeverity: maxSeverity)
                }
                if let inhibition { inhibitions.append(inhibition) }
            }
        }

        var suppressions: [SuppressionWindow] = []
        if let list = top["suppress"] {
            let items3: [YAMLValue] = found.attempt({ try list.list() }) ?? []
            for (i, item) in items3.enumerated() {
                let window = found.attempt { () throws -> SuppressionWindow in
                    let m = try item.map(allowed: ["name", "from", "to", "accounts", "types"])
                    let from = try m.require("from").timestamp()
                    let toValue = try m.require("to")
                    let to = try toValue.timestamp()
                    guard to > from else { throw toValue.error("must be after from") }
                    return SuppressionWindow(
                        name: try m["name"]?.nonEmptyString() ?? "suppress-\(i + 1)", from: from, to: to,
                        accounts: try m["accounts"].map { try Set($0.stringList().map { try $0.nonEmptyString() }) },
                        types: try m["types"].map {
                            try Set($0.stringList().map { try $0.oneOf(AlertType.self, allowed: alertTypes) })
                        })
                }
                if let window { suppressions.append(window) }
            }
        }

        var priorities = PriorityMatrix.standard
        if let p = top["priorities"],
            let bySeverity = found.attempt({ try p.map(allowed: Severity.allCases.map(\.rawValue)) })
        {
            for (severityName, row) in bySeverity.entries {
                let severity = Severity(rawValue: severityName)!
                guard let byTier = found.attempt({ try row.map(allowed: Tier.allCases.map(\.rawValue)) }) else {
                    continue
                }
                for (tierName, cell) in byTier.entries {
                    let priority = found.attempt { () throws -> Priority in
                        guard let priority = Priority(rawValue: try cell.string()) else {
                            throw cell.error("expected a priority P1 to P9, got \(cell.describe)")
                        }
                        return priority
                    }
                    if let priority {
                        priorities.set(priority.level, severity: severity, tier: Tier(rawValue: tierName)!)
                    }
                }
            }
        }

        var sla: [Severity: ResponseSLA] = [:]
        if let s = top["sla"], let bySeverity = found.attempt({ try s.map(allowed: Severity.allCases.map(\.rawValue)) })
        {
            for (severityName, value) in bySeverity.entries {
                let severity = Severity(rawValue: severityName)!
                if let parsed = parseSLA(value, severity: severity, declared: destinationOrder, found: found) {
                    sla[severity] = parsed
                }
            }
        }

        guard found.problems.isEmpty else { return (nil, found.problems) }
        return (
            RulesConfig(
                defaults: defaults, rules: rules.map(\.rule), routes: routes, destinations: destinations,
                inhibitions: inhibitions, suppressions: suppressions, priorities: priorities, sla: sla,
                businessHours: businessHours),
            []
        )
    }

    /// The `name` of a rule item, when it has a text one (to tell a missing rule from a broken one).
    private static func ruleName(_ item: YAMLValue) -> String? {
        (try? item.map(allowed: ruleKeys))?["name"].flatMap { try? $0.string() }
    }

    static let ruleKeys = [
        "name", "type", "when", "severity", "severity_by_zone", "cooldown", "repeat_interval",
        "repeat_when_worse_by", "for", "action", "playbook",
    ]
    static let alertTypes = AlertType.allCases.filter { $0 != .digest }

    private static func positive(_ v: YAMLValue) throws -> Int64 {
        let d = try v.duration()
        guard d > 0 else { throw v.error("must be longer than 0") }
        return d
    }

    private static func parseRule(_ item: YAMLValue, defaults: RuleDefaults) throws -> AlertRule {
        let m = try item.map(allowed: ruleKeys)
        let name = try m.require("name").nonEmptyString()
        let type = try m.require("type").oneOf(AlertType.self, allowed: alertTypes)
        let whenValue = try m.require("when")
        let condition: RuleCondition
        switch type {
        case .customerAtRisk:
            let w = try whenValue.map(allowed: ["zone_in", "recover_at_score"])
            let zonesValue = try w.require("zone_in")
            let zones = try Set(zonesValue.stringList().map { try $0.oneOf(Zone.self, allowed: [.atRisk, .critical]) })
            guard !zones.isEmpty else { throw zonesValue.error("list at least one zone") }
            condition = .zoneIn(zones: zones, recoverAtScore: try w["recover_at_score"]?.int(in: 1...100))
        case .healthScoreDrop:
            let w = try whenValue.map(allowed: ["drop", "crosses_below"])
            if let drop = w["drop"], w["crosses_below"] == nil {
                let d = try drop.map(allowed: ["points", "within"])
                condition = .scoreDrop(
                    points: try d.require("points").int(in: 1...100), withinMs: try positive(d.require("within")))
            } else if let line = w["crosses_below"], w["drop"] == nil {
                condition = .crossesBelow(line: try line.int(in: 1...100))
            } else {
                throw whenValue.error("set exactly one of drop or crosses_below")
            }
        case .billingRetryFailed:
            let w = try whenValue.map(allowed: ["trigger"])
            let types = try Set(
                w.require("trigger").stringList().map { try $0.oneOf(TriggerType.self, allowed: TriggerType.allCases) })
            condition = .trigger(types: types)
        case .expansionSignal, .upsellOpportunity:
            let w = try whenValue.map(allowed: ["signal"])
            let s = try w.require("signal").map(allowed: ["code", "at_least", "min_score"])
            condition = .signal(
                code: try s.require("code").nonEmptyString(), atLeast: try s.require("at_least").double(),
                minScore: try s["min_score"]?.int(in: 0...100))
        case .recovered:
            let w = try whenValue.map(allowed: ["episode_ended"])
            condition = .episodeEnded(rule: try w.require("episode_ended").nonEmptyString())
        case .digest:
            throw m.value.error("digest is not a rule type")
        }
        var byZone: [Zone: Severity] = [:]
        if let z = m["severity_by_zone"] {
            for (zoneName, value) in try z.map(allowed: Zone.allCases.map(\.rawValue)).entries {
                byZone[Zone(rawValue: zoneName)!] = try value.oneOf(Severity.self, allowed: Severity.allCases)
            }
        }
        let isSignal: Bool
        if case .signal = condition { isSignal = true } else { isSignal = false }
        return AlertRule(
            name: name, type: type, condition: condition,
            severity: try m.require("severity").oneOf(Severity.self, allowed: Severity.allCases),
            severityByZone: byZone,
            cooldownMs: try m["cooldown"]?.duration() ?? defaults.cooldownMs,
            repeatIntervalMs: try m["repeat_interval"].map(positive) ?? defaults.repeatIntervalMs,
            repeatWhenWorseBy: try m["repeat_when_worse_by"]?.double() ?? (isSignal ? nil : defaults.repeatWhenWorseBy),
            holdForMs: try m["for"]?.duration() ?? 0,
            suggestedAction: try m["action"]?.string(),
            playbookURL: try m["playbook"]?.string())
    }

    private static func parseMatcher(_ value: YAMLValue) throws -> RouteMatcher {
        let m = try value.map(allowed: ["types", "min_severity", "tiers", "zones", "min_mrr", "accounts", "owners"])
        return RouteMatcher(
            types: try m["types"].map {
                try Set($0.stringList().map { try $0.oneOf(AlertType.self, allowed: alertTypes) })
            },
            minSeverity: try m["min_severity"]?.oneOf(Severity.self, allowed: Severity.allCases),
            tiers: try m["tiers"].map {
                try Set($0.stringList().map { try $0.oneOf(Tier.self, allowed: Tier.allCases) })
            },
            zones: try m["zones"].map {
                try Set($0.stringList().map { try $0.oneOf(Zone.self, allowed: Zone.allCases) })
            },
            minMRR: try m["min_mrr"]?.double(),
            accounts: try m["accounts"].map { try Set($0.stringList().map { try $0.nonEmptyString() }) },
            owners: try m["owners"].map { try Set($0.stringList().map { try $0.nonEmptyString() }) })
    }

    private static func parseDestination(_ value: YAMLValue) throws -> DestinationPolicy {
        if case .scalar = value.node, (try? value.string()) == "" { return DestinationPolicy() }
        return try parsePolicy(value.map(allowed: ["quiet_hours", "digest", "business_hours"]))
    }

    /// A destination's `business_hours` (nil without): `timezone` (default: the quiet hours' zone,
    /// else UTC), `days` (default `mon-fri`), `from` (default 09:00) and `to` (default 17:00).
    private static func parseBusinessHours(_ value: YAMLValue, quietZone: String?) throws -> BusinessHours? {
        if case .scalar = value.node { return nil }
        guard let b = try value.map(allowed: ["quiet_hours", "digest", "business_hours"])["business_hours"] else {
            return nil
        }
        let m = try b.map(allowed: ["timezone", "days", "from", "to"])
        let zoneName = try m["timezone"]?.string() ?? quietZone ?? "UTC"
        let days = try m["days"].map(parseDays) ?? Set(0...4)
        let from = try m["from"]?.timeOfDay(allowEndOfDay: false) ?? 540
        let to = try m["to"]?.timeOfDay(allowEndOfDay: true) ?? 1020
        guard from < to else {
            throw (m["to"] ?? m["from"] ?? b).error("must be after from (business hours do not cross midnight)")
        }
        guard let hours = BusinessHours(timeZone: zoneName, days: days, fromMinute: from, toMinute: to) else {
            throw (m["timezone"] ?? b).error("unknown IANA time zone \"\(zoneName)\"")
        }
        return hours
    }

    /// The longest response time an SLA may have (working time).
    static let maxRespondWithinMs: Int64 = 1000 * 3_600_000

    /// One severity's entry under `sla`: `respond_within` (working time, or `none`; default by
    /// severity), `escalate_to` (steps of `destinations` and optional `mentions`) and
    /// `max_escalations`. Every problem is recorded in `found`; nil when there is one or when the
    /// severity has no SLA.
    private static func parseSLA(
        _ value: YAMLValue, severity: Severity, declared: [String], found: RulesProblemCollector
    ) -> ResponseSLA? {
        guard let m = found.attempt({ try value.map(allowed: ["respond_within", "escalate_to", "max_escalations"]) })
        else { return nil }
        let before = found.problems.count
        var respond = ResponseSLA.defaultRespondWithinMs(severity)
        if let r = m["respond_within"] {
            respond =
                found.attempt { () throws -> Int64? in
                    if try r.string() == "none" { return nil }
                    let ms = try r.duration()
                    guard ms > 0, ms <= maxRespondWithinMs else {
                        throw r.error("must be longer than 0 and at most 1000h (of business hours), or none")
                    }
                    return ms
                } ?? nil
        }
        if respond == nil, let r = m["respond_within"], found.problems.count == before {
            // `none`: this severity has no SLA.
            if let chain = m["escalate_to"] {
                _ = found.attempt { throw chain.error("respond_within is none at \(r.describe): nothing escalates") }
            }
            return nil
        }
        var steps: [EscalationStep] = []
        if let chain = found.attempt({ try m.require("escalate_to") }),
            let items = found.attempt({ () throws -> [YAMLValue] in
                let items = try chain.list()
                guard !items.isEmpty else { throw chain.error("list at least one step") }
                return items
            })
        {
            for item in items {
                let step = found.attempt { () throws -> EscalationStep in
                    let sm = try item.map(allowed: ["destinations", "mentions", "direct_message_owner_via"])
                    var via: String?
                    if let v = sm["direct_message_owner_via"] {
                        let name = try v.nonEmptyString()
                        guard declared.contains(name) else {
                            throw v.error("destination \"\(name)\" is not declared under destinations")
                        }
                        via = name
                    }
                    var names: [String] = []
                    if let destinationsValue = via == nil ? try sm.require("destinations") : sm["destinations"] {
                        for d in try destinationsValue.stringList() {
                            let name = try d.nonEmptyString()
                            guard declared.contains(name) else {
                                throw d.error("destination \"\(name)\" is not declared under destinations")
                            }
                            if !names.contains(name) { names.append(name) }
                        }
                        guard !names.isEmpty || via != nil else {
                            throw destinationsValue.error("list at least one destination")
                        }
                    }
                    var mentions: [String] = []
                    for mention in try sm["mentions"]?.stringList() ?? [] {
                        let id = try mention.string()
                        guard (2...32).contains(id.utf8.count), id.first == "U" || id.first == "W",
                            id.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) })
                        else {
                            throw mention.error("expected a Slack user id such as U024BE7LH, got \(mention.describe)")
                        }
                        mentions.append(id)
                    }
                    return EscalationStep(destinations: names, mentions: mentions, directMessageOwnerVia: via)
                }
                if let step { steps.append(step) }
            }
        }
        var cap: Int?
        if let c = m["max_escalations"] {
            cap = found.attempt { try c.int(in: 1...ResponseSLA.escalationCap) }
        }
        if respond == nil, m["respond_within"] == nil, found.problems.count == before {
            _ = found.attempt {
                throw value.error("\(severity.rawValue) has no default response time; set respond_within")
            }
        }
        guard found.problems.count == before, let respond else { return nil }
        return ResponseSLA(respondWithinMs: respond, steps: steps, maxEscalations: cap)
    }

    /// The `quiet_hours` and `digest` keys of `m` (and `group_wait`, where the caller allows it).
    static func parsePolicy(_ m: YAMLMap) throws -> DestinationPolicy {
        var policy = DestinationPolicy()
        if let g = m["group_wait"] {
            let wait = try g.duration()
            guard wait <= 600_000 else { throw g.error("must be at most 10m (a group wait is seconds)") }
            policy.groupWaitMs = wait
        }
        if let q = m["quiet_hours"] {
            let qm = try q.map(allowed: ["timezone", "windows"])
            let zoneValue = try qm.require("timezone")
            var windows: [QuietHours.Window] = []
            for w in try qm.require("windows").list() {
                let wm = try w.map(allowed: ["days", "from", "to"])
                let fromValue = try wm.require("from")
                let toValue = try wm.require("to")
                let from = try fromValue.timeOfDay(allowEndOfDay: false)
                let to = try toValue.timeOfDay(allowEndOfDay: true)
                guard from != to else { throw toValue.error("a window must not start and end at the same time") }
                windows.append(
                    QuietHours.Window(days: try parseDays(wm.require("days")), fromMinute: from, toMinute: to))
            }
            guard let quiet = QuietHours(timeZone: try zoneValue.string(), windows: windows) else {
                throw zoneValue.error("unknown IANA time zone \(zoneValue.describe)")
            }
            policy.quietHours = quiet
        }
        if let d = m["digest"] {
            let dm = try d.map(allowed: ["every", "at", "weekday", "timezone", "max_severity"])
            let period = try dm.require("every").oneOf(DigestSchedule.Period.self, allowed: [.day, .week])
            var weekday = 0
            if let w = dm["weekday"] {
                guard let i = Weekday.names.firstIndex(of: try w.string()) else {
                    throw w.error("expected one of \(Weekday.names.joined(separator: ", "))")
                }
                weekday = i
            } else if period == .week {
                throw (try dm.require("weekday")).error("a weekly digest needs a weekday")
            }
            let zoneValue = dm["timezone"]
            let zoneName = try zoneValue?.string() ?? policy.quietHours?.timeZone ?? "UTC"
            guard
                let schedule = DigestSchedule(
                    period: period, atMinute: try dm.require("at").timeOfDay(allowEndOfDay: false),
                    weekday: weekday, timeZone: zoneName,
                    maxSeverity: try dm["max_severity"]?.oneOf(Severity.self, allowed: [.low, .medium, .high])
                        ?? .medium)
            else { throw (zoneValue ?? d).error("unknown IANA time zone \"\(zoneName)\"") }
            policy.digest = schedule
        }
        return policy
    }

    /// `[mon, tue]`, `mon-fri`, `weekdays`, `weekends`, `every_day`.
    private static func parseDays(_ value: YAMLValue) throws -> Set<Int> {
        var days = Set<Int>()
        for item in try value.stringList() {
            let text = try item.string().lowercased()
            switch text {
            case "weekdays": days.formUnion(0...4)
            case "weekends": days.formUnion(5...6)
            case "every_day", "daily": days.formUnion(0...6)
            default:
                let parts = text.split(separator: "-").map(String.init)
                let indices = parts.compactMap { Weekday.names.firstIndex(of: $0) }
                guard indices.count == parts.count, (1...2).contains(parts.count) else {
                    throw item.error("expected days such as mon, mon-fri, weekdays or weekends, got \(item.describe)")
                }
                if indices.count == 1 {
                    days.insert(indices[0])
                } else {
                    var d = indices[0]
                    while true {
                        days.insert(d)
                        if d == indices[1] { break }
                        d = (d + 1) % 7
                    }
                }
            }
        }
        guard !days.isEmpty else { throw value.error("list at least one day") }
        return days
    }
}
