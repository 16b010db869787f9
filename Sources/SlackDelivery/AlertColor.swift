import Contracts

/// The attachment sidebar colour of an alert: critical red, high orange, medium yellow, low grey;
/// expansion, upsell and recovery green whatever their severity.
public enum AlertColor: String, Sendable, CaseIterable {
    case red = "#D0021B"
    case orange = "#F5A623"
    case yellow = "#F8E71C"
    case grey = "#9B9B9B"
    case green = "#2EB67D"

    /// Colour for one alert type and severity.
    public static func of(type: AlertType, severity: Severity) -> AlertColor {
        switch type {
        case .expansionSignal, .upsellOpportunity, .recovered: return .green
        default: break
        }
        switch severity {
        case .critical: return .red
        case .high: return .orange
        case .medium: return .yellow
        case .low: return .grey
        }
    }

    /// Colour for an alert; a digest takes the colour of its worst risk item (green if it has none).
    public static func of(_ alert: AlertRecord) -> AlertColor {
        guard alert.type == .digest else { return of(type: alert.type, severity: alert.severity) }
        let risky = (alert.digestItems ?? []).filter { of(type: $0.type, severity: $0.severity) != .green }
        guard let worst = risky.map(\.severity).max() else { return .green }
        return of(type: .customerAtRisk, severity: worst)
    }
}
