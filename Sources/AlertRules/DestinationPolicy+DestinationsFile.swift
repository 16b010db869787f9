import Contracts

/// Where a destination's time policy lives.
///
/// The destinations file (the dispatcher's) may set, per destination, `quiet_hours` and `digest`
/// (the same syntax as the rules file's `destinations:` section) and `group_wait`. Each field set
/// there wins; a field not set there falls back to the rules file's policy for that destination,
/// so today's rules files keep working unchanged. Setting the same field in both files is a
/// configuration problem (`FleetConfigCheck` reports it): until the evaluator stops deferring,
/// the alert would be held twice.
extension DestinationPolicy {
    /// The schedule keys (`quiet_hours`, `digest`, `group_wait`) of every destination in a
    /// destinations file, by destination name; destinations setting none are left out. Other keys
    /// (url, type, rate limits) belong to the dispatcher's transport parser and are not read here.
    /// Errors name the file, line and key.
    public static func parseAll(destinationsYAML yaml: String, file: String) throws -> [String: DestinationPolicy] {
        let top = try YAMLValue.document(yaml: yaml, file: file).lenientMap()
        guard let list = top["destinations"], case .mapping = list.node else { return [:] }
        var out: [String: DestinationPolicy] = [:]
        for (name, value) in try list.namedEntries() {
            guard case .mapping = value.node else { continue }
            let m = try value.lenientMap()
            guard m["quiet_hours"] != nil || m["digest"] != nil || m["group_wait"] != nil else { continue }
            out[name] = try RulesConfig.parsePolicy(m)
        }
        return out
    }

    /// The policy per destination that the dispatcher applies: each field from the destinations
    /// file where it is set there, else from the rules file.
    public static func resolved(destinationsFile: [String: DestinationPolicy], rulesFile: [String: DestinationPolicy])
        -> [String: DestinationPolicy]
    {
        var out = rulesFile
        for (name, own) in destinationsFile {
            let fallback = rulesFile[name] ?? DestinationPolicy()
            out[name] = DestinationPolicy(
                quietHours: own.quietHours ?? fallback.quietHours, digest: own.digest ?? fallback.digest,
                groupWaitMs: own.groupWaitMs)
        }
        return out
    }
}

extension RulesConfig {
    /// This configuration with every destination's quiet hours and digest removed: the evaluator
    /// then sends every alert at once and leaves time to the dispatcher's `DestinationSchedule`.
    /// (For the switch from evaluator-held to dispatcher-held time; today's evaluator keeps its policies.)
    public func leavingTimeToTheDispatcher() -> RulesConfig {
        var copy = self
        copy.destinations = destinations.mapValues { _ in DestinationPolicy() }
        return copy
    }
}
