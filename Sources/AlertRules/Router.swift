import Contracts

/// The facts of an alert that routes match on.
struct RoutingFacts {
    var type: AlertType
    var severity: Severity
    var tier: Tier
    var zone: Zone
    var mrr: Double?
    var accountId: String
    var owner: String?
}

extension RouteMatcher {
    func matches(_ f: RoutingFacts) -> Bool {
        if let types {
            if !types.contains(f.type) { return false }
        } else if f.type == .recovered || f.type == .digest {
            return false
        }
        if let minSeverity, f.severity < minSeverity { return false }
        if let tiers, !tiers.contains(f.tier) { return false }
        if let zones, !zones.contains(f.zone) { return false }
        if let minMRR, (f.mrr ?? 0) < minMRR { return false }
        if let accounts, !accounts.contains(f.accountId) { return false }
        if let owners {
            guard let owner = f.owner, owners.contains(owner) else { return false }
        }
        return true
    }
}

extension RulesConfig {
    /// Destinations of an alert, in route order without repeats: the first matching route, and the
    /// following ones while matched routes say `continue`.
    func destinations(for facts: RoutingFacts) -> [String] {
        var out: [String] = []
        for route in routes where route.match.matches(facts) {
            if !out.contains(route.destination) { out.append(route.destination) }
            if !route.continueMatching { break }
        }
        return out
    }
}
