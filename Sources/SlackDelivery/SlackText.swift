/// Building blocks for Slack text: escaping of event text, clean truncation, links and mentions.
///
/// Everything that comes from events (account names, signal texts, actions) goes through
/// `escape`, so `&`, `<` and `>` can never form a link, a mention or a broadcast such as
/// `<!channel>`.
public enum SlackText {
    /// Length as Slack limits count it (UTF-16 code units; never less than the character count).
    public static func length(_ s: String) -> Int { s.utf16.count }

    /// Whether `s` is at most `limit` long, cheaply: UTF-8 length bounds UTF-16 length from above.
    static func fits(_ s: String, _ limit: Int) -> Bool {
        s.utf8.count <= limit || s.utf16.count <= limit
    }

    /// Escapes `&`, `<`, `>` as Slack requires.
    public static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") })
        else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Replaces line breaks and tabs with spaces (for headers, button labels and single-line fields).
    public static func singleLine(_ s: String) -> String {
        // Fast path: no control byte and no lead byte of U+0085, U+2028 or U+2029.
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0xC2 || $0 == 0xE2 }) else { return s }
        guard s.contains(where: { $0.isNewline || $0 == "\t" }) else { return s }
        return String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }

    /// `raw` escaped, cut to at most `limit` units on a character boundary (never inside an
    /// entity such as `&amp;` or an emoji), with `…` marking the cut.
    public static func escaped(_ raw: String, limit: Int) -> String {
        let full = escape(raw)
        if fits(full, limit) { return full }
        return truncateEscaping(raw, limit: limit)
    }

    /// Cuts already-safe markup text (escaped, links, mentions) to `limit` by dropping whole
    /// lines from the end; a single remaining line that is still too long is cut before any `<`.
    public static func fitMarkup(_ lines: [String], limit: Int) -> String {
        var out = ""
        var used = 0
        for (i, line) in lines.enumerated() {
            // UTF-8 length is an upper bound of the UTF-16 length and cheap; exact only when needed.
            let u8 = line.utf8.count
            let extra = (u8 <= limit - used ? u8 : length(line)) + (i == 0 ? 0 : 1)
            if used + extra <= limit {
                if i > 0 { out += "\n" }
                out += line
                used += extra
            } else {
                let room = limit - used - (i == 0 ? 0 : 1)
                if room >= 2 {
                    if i > 0 { out += "\n" }
                    out += cutMarkup(line, limit: room)
                } else if used + 1 <= limit, !out.isEmpty {
                    out += "…"
                }
                break
            }
        }
        return out
    }

    /// Cuts markup without splitting a `<...>` link/mention or an `&...;` entity.
    static func cutMarkup(_ line: String, limit: Int) -> String {
        var out = ""
        var used = 0
        var pending = ""  // an unfinished <...> or &...; group
        var inAngle = false
        var inEntity = false
        for ch in line {
            let piece = String(ch)
            if inAngle || inEntity {
                pending += piece
                if (inAngle && ch == ">") || (inEntity && ch == ";") {
                    inAngle = false
                    inEntity = false
                    if used + length(pending) + 1 > limit { break }
                    out += pending
                    used += length(pending)
                    pending = ""
                }
                continue
            }
            if ch == "<" {
                inAngle = true
                pending = piece
                continue
            }
            if ch == "&" {
                inEntity = true
                pending = piece
                continue
            }
            if used + length(piece) + 1 > limit { break }
            out += piece
            used += length(piece)
        }
        while out.last?.isWhitespace == true { out.removeLast() }
        return out + "…"
    }

    private static func truncateEscaping(_ raw: String, limit: Int) -> String {
        guard limit >= 1 else { return "" }
        var out = ""
        var used = 0
        for ch in raw {
            let piece: String
            switch ch {
            case "&": piece = "&amp;"
            case "<": piece = "&lt;"
            case ">": piece = "&gt;"
            default: piece = String(ch)
            }
            let n = length(piece)
            if used + n + 1 > limit { break }
            out += piece
            used += n
        }
        while out.last?.isWhitespace == true { out.removeLast() }
        return out + "…"
    }

    /// Whether `s` is an absolute http(s) URL that is safe inside `<url|label>` and a button:
    /// at most 3000 units, no whitespace, no `<`, `>`, `|` or quotes.
    public static func isSafeURL(_ s: String) -> Bool {
        guard length(s) <= BlockKitLimits.buttonURL, !s.isEmpty else { return false }
        let lower = s.prefix(8).lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return false }
        for u in s.unicodeScalars {
            if u.value <= 0x20 || u.value == 0x7F { return false }
            if u == "<" || u == ">" || u == "|" || u == "\"" || u == "`" { return false }
        }
        return true
    }

    /// `<url|label>` with the label escaped, or just the escaped label when `url` is not safe.
    public static func link(_ url: String?, label raw: String, labelLimit: Int = 200) -> String {
        let label = escaped(singleLine(raw), limit: labelLimit)
        guard let url, isSafeURL(url) else { return label }
        return "<\(url.replacingAmpersands())|\(label)>"
    }

    /// `<@U024BE7LH>` for a well-formed Slack user id, otherwise nil.
    public static func mention(_ userId: String?) -> String? {
        guard let id = userId, (2...32).contains(id.count), let first = id.first, first == "U" || first == "W",
            id.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
        else { return nil }
        return "<@\(id)>"
    }
}

extension String {
    fileprivate func replacingAmpersands() -> String {
        guard utf8.contains(UInt8(ascii: "&")) else { return self }
        var out = ""
        for ch in unicodeScalars {
            if ch == "&" { out += "&amp;" } else { out.unicodeScalars.append(ch) }
        }
        return out
    }
}
