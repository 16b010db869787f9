/// Slack's Block Kit limits that rendering stays inside (lengths are counted in UTF-16 code units,
/// which is never less than the character count Slack applies).
public enum BlockKitLimits {
    public static let blocksPerMessage = 50
    public static let headerText = 150
    public static let sectionText = 3000
    public static let sectionFields = 10
    public static let fieldText = 2000
    public static let contextElements = 10
    public static let contextText = 3000
    public static let actionsElements = 25
    public static let buttonText = 75
    public static let buttonURL = 3000
    public static let buttonValue = 2000
    public static let actionId = 255
    public static let blockId = 255
    /// The plain `text` fallback used for notifications. Slack truncates messages past 40,000
    /// characters; we keep the notification line much shorter.
    public static let fallbackText = 3000
}
