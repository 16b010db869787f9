import Foundation

/// A checker of Block Kit's rules for the message shapes this module sends (header, section,
/// divider, context, actions with buttons; blocks at the top level and inside attachments).
/// It reads the JSON bytes as Slack would and lists every rule broken, so tests and `send-test`
/// can prove a body is valid before Slack sees it.
public enum BlockKitValidator {
    /// One broken rule, with a JSON path such as `attachments[0].blocks[3].text.text`.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var rule: String
        public var description: String { "\(path): \(rule)" }
    }

    /// Checks an incoming-webhook message body. An empty result means valid.
    public static func validate(message bytes: [UInt8]) -> [Violation] {
        var v = Checker()
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes)), let root = any as? [String: Any] else {
            return [Violation(path: "$", rule: "body is not a JSON object")]
        }
        v.message(root)
        return v.violations
    }

    private struct Checker {
        var violations: [Violation] = []
        var blockIds: Set<String> = []
        var actionIds: Set<String> = []
        var totalBlocks = 0

        mutating func fail(_ path: String, _ rule: String) { violations.append(Violation(path: path, rule: rule)) }

        static func len(_ s: String) -> Int { s.utf16.count }

        mutating func keys(_ o: [String: Any], allowed: Set<String>, _ path: String) {
            for k in o.keys where !allowed.contains(k) { fail("\(path).\(k)", "unknown field") }
        }

        mutating func message(_ o: [String: Any]) {
            keys(
                o,
                allowed: [
                    "text", "blocks", "attachments", "mrkdwn", "unfurl_links", "unfurl_media", "thread_ts", "username",
                    "icon_emoji", "icon_url",
                ], "$")
            if let t = o["text"] {
                if let s = t as? String {
                    if s.isEmpty { fail("text", "must not be empty") }
                    if Self.len(s) > 40_000 { fail("text", "longer than 40000") }
                    broadcast(s, "text")
                } else {
                    fail("text", "must be a string")
                }
            } else if o["blocks"] != nil || o["attachments"] != nil {
                fail("text", "missing: a plain text fallback is required for notifications")
            }
            if let b = o["blocks"] { blocks(b, "blocks") }
            if let a = o["attachments"] {
                guard let list = a as? [Any] else {
                    fail("attachments", "must be an array")
                    return
                }
                if list.count > 100 { fail("attachments", "more than 100 attachments") }
                for (i, item) in list.enumerated() {
                    let p = "attachments[\(i)]"
                    guard let at = item as? [String: Any] else {
                        fail(p, "must be an object")
                        continue
                    }
                    keys(at, allowed: ["color", "blocks", "fallback", "text", "pretext", "mrkdwn_in"], p)
                    if let c = at["color"] {
                        if let s = c as? String {
                            if !Self.isColor(s) { fail("\(p).color", "must be #RRGGBB or good/warning/danger") }
                        } else {
                            fail("\(p).color", "must be a string")
                        }
                    }
                    if let f = at["fallback"] {
                        if let s = f as? String {
                            broadcast(s, "\(p).fallback")
                        } else {
                            fail("\(p).fallback", "must be a string")
                        }
                    }
                    if let b = at["blocks"] { blocks(b, "\(p).blocks") }
                }
            }
            if totalBlocks > 50 { fail("$", "more than 50 blocks in the message (\(totalBlocks))") }
        }

        static func isColor(_ s: String) -> Bool {
            if ["good", "warning", "danger"].contains(s) { return true }
            guard s.count == 7, s.first == "#" else { return false }
            return s.dropFirst().allSatisfy { $0.isHexDigit }
        }

        mutating func broadcast(_ s: String, _ path: String) {
            for special in ["<!channel", "<!here", "<!everyone", "<!subteam"] where s.contains(special) {
                fail(path, "contains a broadcast mention \(special)>")
            }
        }

        mutating func blocks(_ any: Any, _ path: String) {
            guard let list = any as? [Any] else {
                fail(path, "must be an array")
                return
            }
            if list.count > 50 { fail(path, "more than 50 blocks") }
            totalBlocks += list.count
            for (i, item) in list.enumerated() { block(item, "\(path)[\(i)]") }
        }

        mutating func block(_ any: Any, _ p: String) {
            guard let b = any as? [String: Any] else {
                fail(p, "block must be an object")
                return
            }
            if let id = b["block_id"] {
                if let s = id as? String {
                    if s.isEmpty || Self.len(s) > 255 { fail("\(p).block_id", "must be 1-255 characters") }
                    if !blockIds.insert(s).inserted { fail("\(p).block_id", "duplicate block_id") }
                } else {
                    fail("\(p).block_id", "must be a string")
                }
            }
            guard let type = b["type"] as? String else {
                fail("\(p).type", "missing")
                return
            }
            switch type {
            case "header":
                keys(b, allowed: ["type", "text", "block_id"], p)
                if let t = b["text"] {
                    textObject(t, "\(p).text", max: 150, plainOnly: true)
                } else {
                    fail("\(p).text", "missing")
                }
            case "section":
                keys(b, allowed: ["type", "text", "fields", "accessory", "block_id", "expand"], p)
                if b["text"] == nil && b["fields"] == nil { fail(p, "section needs text or fields") }
                if let t = b["text"] { textObject(t, "\(p).text", max: 3000, plainOnly: false) }
                if let f = b["fields"] {
                    if let list = f as? [Any] {
                        if list.isEmpty || list.count > 10 { fail("\(p).fields", "must hold 1-10 items") }
                        for (i, x) in list.enumerated() {
                            textObject(x, "\(p).fields[\(i)]", max: 2000, plainOnly: false)
                        }
                    } else {
                        fail("\(p).fields", "must be an array")
                    }
                }
                if let a = b["accessory"] { element(a, "\(p).accessory") }
            case "divider":
                keys(b, allowed: ["type", "block_id"], p)
            case "context":
                keys(b, allowed: ["type", "elements", "block_id"], p)
                guard let list = b["elements"] as? [Any] else {
                    fail("\(p).elements", "missing or not an array")
                    return
                }
                if list.isEmpty || list.count > 10 { fail("\(p).elements", "must hold 1-10 items") }
                for (i, x) in list.enumerated() {
                    let ep = "\(p).elements[\(i)]"
                    if let o = x as? [String: Any], o["type"] as? String == "image" {
                        keys(o, allowed: ["type", "image_url", "alt_text"], ep)
                        if !(o["image_url"] is String) { fail("\(ep).image_url", "missing") }
                        if !(o["alt_text"] is String) { fail("\(ep).alt_text", "missing") }
                    } else {
                        textObject(x, ep, max: 3000, plainOnly: false)
                    }
                }
            case "actions":
                keys(b, allowed: ["type", "elements", "block_id"], p)
                guard let list = b["elements"] as? [Any] else {
                    fail("\(p).elements", "missing or not an array")
                    return
                }
                if list.isEmpty || list.count > 25 { fail("\(p).elements", "must hold 1-25 items") }
                for (i, x) in list.enumerated() { element(x, "\(p).elements[\(i)]") }
            default:
                fail("\(p).type", "unsupported block type '\(type)'")
            }
        }

        mutating func element(_ any: Any, _ p: String) {
            guard let e = any as? [String: Any], let type = e["type"] as? String else {
                fail(p, "element must be an object with a type")
                return
            }
            guard type == "button" else {
                fail("\(p).type", "unsupported element type '\(type)'")
                return
            }
            keys(
                e, allowed: ["type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"], p)
            if let t = e["text"] {
                textObject(t, "\(p).text", max: 75, plainOnly: true)
            } else {
                fail("\(p).text", "missing")
            }
            if let a = e["action_id"] {
                if let s = a as? String {
                    if s.isEmpty || Self.len(s) > 255 { fail("\(p).action_id", "must be 1-255 characters") }
                    if !actionIds.insert(s).inserted { fail("\(p).action_id", "duplicate action_id") }
                } else {
                    fail("\(p).action_id", "must be a string")
                }
            }
            if let u = e["url"] {
                if let s = u as? String {
                    if Self.len(s) > 3000 { fail("\(p).url", "longer than 3000") }
                    if !(s.hasPrefix("https://") || s.hasPrefix("http://")) {
                        fail("\(p).url", "must be an http(s) URL")
                    }
                } else {
                    fail("\(p).url", "must be a string")
                }
            }
            if let v = e["value"] {
                if let s = v as? String {
                    if Self.len(s) > 2000 { fail("\(p).value", "longer than 2000") }
                } else {
                    fail("\(p).value", "must be a string")
                }
            }
            if let s = e["style"] {
                if let st = s as? String, st == "primary" || st == "danger" {
                } else {
                    fail("\(p).style", "must be primary or danger")
                }
            }
        }

        mutating func textObject(_ any: Any, _ p: String, max: Int, plainOnly: Bool) {
            guard let o = any as? [String: Any] else {
                fail(p, "text object must be an object")
                return
            }
            guard let type = o["type"] as? String, type == "plain_text" || type == "mrkdwn" else {
                fail("\(p).type", "must be plain_text or mrkdwn")
                return
            }
            if plainOnly && type != "plain_text" { fail("\(p).type", "must be plain_text here") }
            keys(o, allowed: type == "plain_text" ? ["type", "text", "emoji"] : ["type", "text", "verbatim"], p)
            if let e = o["emoji"], !(e is Bool) { fail("\(p).emoji", "must be a boolean") }
            if let e = o["verbatim"], !(e is Bool) { fail("\(p).verbatim", "must be a boolean") }
            guard let text = o["text"] as? String else {
                fail("\(p).text", "missing or not a string")
                return
            }
            let n = Self.len(text)
            if n < 1 { fail("\(p).text", "must not be empty") }
            if n > max { fail("\(p).text", "longer than \(max) (\(n))") }
            broadcast(text, "\(p).text")
        }
    }
}
