/// HTML escaping: `&`, `<`, `>`, `"` and `'` as character references, safe in text and in
/// quoted attribute values (the HTML part of an email, the feedback pages).
public enum HTMLEscape {
    /// `s` escaped for HTML text or a quoted attribute value.
    public static func text(_ s: String) -> String {
        guard s.utf8.contains(where: { [38, 60, 62, 34, 39].contains($0) }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
