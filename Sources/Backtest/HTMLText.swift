import Contracts

/// Escaping for text and attribute values in the HTML report.
enum HTMLText {
    /// `s` with `&`, `<`, `>`, `"` and `'` as character references (safe in text and in quoted attributes).
    static func escape(_ s: String) -> String { HTMLEscape.text(s) }

    /// A number for SVG coordinates: at most one decimal.
    static func coord(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
