/// An email address as an `email` destination's `from` or `to` holds it: `local@domain`, checked
/// minimally (RFC 5321's shape, not its every corner) and never carrying a CR, LF or any other
/// control character, so it cannot add a header line or an SMTP command (header injection).
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as written, `local@domain`.
    public let text: String

    /// Why a text is not an address. Carries no part of the text (an address in a file is not a
    /// secret, but a value from an environment variable may be a mistake that is).
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case empty
        case controlCharacter
        case notOneAt
        case badLocalPart
        case badDomain
        case tooLong

        public var description: String {
            switch self {
            case .empty: "empty address"
            case .controlCharacter: "address contains a line break or another control character (header injection)"
            case .notOneAt: "expected one '@' (local@domain)"
            case .badLocalPart: "the part before '@' must be 1-64 of letters, digits and !#$%&'*+-/=?^_`{|}~."
            case .badDomain: "the domain must be labels of letters, digits and '-' separated by dots"
            case .tooLong: "address longer than 254 characters"
            }
        }
    }

    /// Checks `text` and wraps it.
    public init(_ text: String) throws(Problem) {
        if text.isEmpty { throw .empty }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0.value == 0x85 }) {
            throw .controlCharacter
        }
        if text.utf8.count > 254 { throw .tooLong }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .notOneAt }
        let local = parts[0].utf8
        let domain = parts[1].utf8
        guard (1...64).contains(local.count), local.allSatisfy(Self.isAtom), local.first != 0x2E, local.last != 0x2E,
            !String(parts[0]).contains("..")
        else { throw .badLocalPart }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard (1...253).contains(domain.count),
            labels.allSatisfy({ label in
                (1...63).contains(label.utf8.count) && label.utf8.first != 0x2D && label.utf8.last != 0x2D
                    && label.utf8.allSatisfy(Self.isDomainByte)
            })
        else { throw .badDomain }
        self.text = text
    }

    /// The domain, lowercased (for a `Message-ID`).
    public var domain: String { String(text.split(separator: "@").last ?? "").lowercased() }

    /// `<local@domain>`, as SMTP's `MAIL FROM` and `RCPT TO` take it.
    var angled: String { "<\(text)>" }

    public var description: String { text }

    /// RFC 5322 `atext` and the dot.
    static func isAtom(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "!#$%&'*+-/=?^_`{|}~.".utf8.contains(b)
        }
    }

    static func isDomainByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
