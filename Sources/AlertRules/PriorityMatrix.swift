import Contracts

/// Priority P1-P9 from severity x account tier.
///
/// The default (`standard`):
///
/// | severity \ tier     | enterprise | mid_market | smb |
/// |---------------------|------------|------------|-----|
/// | high (and critical) | P1         | P2         | P4  |
/// | medium              | P3         | P5         | P7  |
/// | low                 | P6         | P8         | P9  |
public struct PriorityMatrix: Sendable, Equatable {
    /// levels[severity.rank][tierIndex], 1...9.
    var levels: [[Int]]

    public static let standard = PriorityMatrix(levels: [
        [6, 8, 9],  // low
        [3, 5, 7],  // medium
        [1, 2, 4],  // high
        [1, 2, 4],  // critical
    ])

    static func tierIndex(_ tier: Tier) -> Int {
        switch tier {
        case .enterprise: 0
        case .midMarket: 1
        case .smb: 2
        }
    }

    /// The priority of an alert of `severity` for an account of `tier`.
    public func priority(severity: Severity, tier: Tier) -> Priority {
        Priority(level: levels[severity.rank][Self.tierIndex(tier)])!
    }

    /// Sets one cell (level 1...9).
    public mutating func set(_ level: Int, severity: Severity, tier: Tier) {
        precondition((1...9).contains(level))
        levels[severity.rank][Self.tierIndex(tier)] = level
    }
}
