import Contracts

/// The attachment sidebar colour of an alert, from its severity alone: critical red, high orange,
/// medium yellow, low grey. Good news (a recovery, an expansion signal) is told by its title, not
/// its colour, so a reader scanning a channel sees at once how urgent each message is.
public enum AlertColor: String, Sendable, CaseIterable {
    case red = "#D0021B"
    case orange = "#F5A623"
    case yellow = "#F8E71C"
    case grey = "#9B9B9B"
    /// An episode closed (resolved or recovered) since its message was posted: a pale sidebar, so
    /// the channel shows at a glance what still needs someone.
    case closed = "#DDDDDD"

    /// Colour for one severity.
    public static func of(severity: Severity) -> AlertColor {
        switch severity {
        case .critical: .red
        case .high: .orange
        case .medium: .yellow
        case .low: .grey
        }
    }

    /// Colour for an alert; a digest takes the colour of its most severe item (grey if it has none).
    public static func of(_ alert: AlertRecord) -> AlertColor {
        guard alert.type == .digest else { return of(severity: alert.severity) }
        return of(severity: (alert.digestItems ?? []).map(\.severity).max() ?? .low)
    }
}
