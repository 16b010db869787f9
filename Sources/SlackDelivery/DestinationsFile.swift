import Foundation
import Yams

/// The destinations file: destination names mapped to Slack incoming webhooks or generic JSON
/// webhooks. Values may reference environment variables as `${NAME}` (filled from a Kubernetes
/// Secret), so the file itself holds no secret.
///
/// ```yaml
/// defaults:
///   rate_per_second: 1
///   burst: 3
/// destinations:
///   cs-enterprise:
///     type: slack
///     url: ${SLACK_WEBHOOK_CS_ENTERPRISE}
///   crm-sync:
///     type: webhook
///     url: ${CRM_WEBHOOK_URL}
///     signing_secret: ${CRM_WEBHOOK_SECRET}
///   local-sink:
///     url: http://127.0.0.1:9099/services/T000/B000/local
///     allow_insecure_http: true
/// ```
///
/// Errors name the file, the key and the line, never a URL or a secret value.
public struct DestinationsFile: Sendable {
    /// The destinations in file order.
    public var destinations: [Destination]

    public init(destinations: [Destination]) { self.destinations = destinations }

    /// Looks a destination up by name.
    public subscript(name: String) -> Destination? { destinations.first { $0.name == name } }

    /// Reads and parses the file at `path`, expanding `${NAME}` from `environment`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(SlackDeliveryError) -> DestinationsFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configUnreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(yaml: text, file: path, environment: environment)
    }

    private static let destinationKeys: Set<String> = ["type", "url", "allow_insecure_http", "rate_per_second", "burst", "signing_secret"]

    /// Parses the YAML text of a destinations file. Pure: the environment comes in as a value.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(SlackDeliveryError) -> DestinationsFile {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw SlackDeliveryError.configInvalid(file: file, key: "destinations", line: nil, problem: "file is empty")
            }
            root = node
        } catch let error as SlackDeliveryError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw .configInvalid(file: file, key: "(document)", line: nil, problem: "not valid YAML")
        }
        guard let top = root.mapping else {
            throw .configInvalid(file: file, key: "(document)", line: root.mark?.line, problem: "expected a mapping with 'destinations'")
        }
        for (key, value) in top {
            let k = key.string ?? ""
            if k != "defaults" && k != "destinations" {
                throw .configInvalid(file: file, key: k, line: key.mark?.line, problem: "unknown key (expected 'defaults' or 'destinations')")
            }
            _ = value
        }
        var defaults = RateLimit.slackDefault
        if let d = top["defaults"] {
            guard let m = d.mapping else {
                throw .configInvalid(file: file, key: "defaults", line: d.mark?.line, problem: "expected a mapping")
            }
            for (key, _) in m where !["rate_per_second", "burst"].contains(key.string ?? "") {
                throw .configInvalid(file: file, key: "defaults.\(key.string ?? "?")", line: key.mark?.line, problem: "unknown key (expected rate_per_second, burst)")
            }
            defaults = try rateLimit(in: m, keyPrefix: "defaults", file: file, fallback: defaults)
        }
        guard let destinationsNode = top["destinations"] else {
            throw .configInvalid(file: file, key: "destinations", line: nil, problem: "missing")
        }
        guard let list = destinationsNode.mapping else {
            throw .configInvalid(file: file, key: "destinations", line: destinationsNode.mark?.line, problem: "expected a mapping of destination names")
        }
        var result: [Destination] = []
        var seen: Set<String> = []
        for (nameNode, body) in list {
            guard let name = nameNode.string, !name.isEmpty else {
                throw .configInvalid(file: file, key: "destinations", line: nameNode.mark?.line, problem: "destination name must be a non-empty string")
            }
            guard seen.insert(name).inserted else {
                throw .duplicateDestination(file: file, name: name, line: nameNode.mark?.line)
            }
            let prefix = "destinations.\(name)"
            guard let m = body.mapping else {
                throw .configInvalid(file: file, key: prefix, line: body.mark?.line, problem: "expected a mapping with at least 'url'")
            }
            for (key, _) in m where !destinationKeys.contains(key.string ?? "") {
                throw .configInvalid(file: file, key: "\(prefix).\(key.string ?? "?")", line: key.mark?.line,
                                     problem: "unknown key (expected one of \(destinationKeys.sorted().joined(separator: ", ")))")
            }
            var kind = Destination.Kind.slack
            if let t = m["type"] {
                guard let s = t.string, let k = Destination.Kind(rawValue: s) else {
                    throw .configInvalid(file: file, key: "\(prefix).type", line: t.mark?.line, problem: "expected 'slack' or 'webhook'")
                }
                kind = k
            }
            var allowHTTP = false
            if let a = m["allow_insecure_http"] {
                guard let b = a.bool else {
                    throw .configInvalid(file: file, key: "\(prefix).allow_insecure_http", line: a.mark?.line, problem: "expected true or false")
                }
                allowHTTP = b
            }
            guard let urlNode = m["url"] else {
                throw .configInvalid(file: file, key: "\(prefix).url", line: nameNode.mark?.line, problem: "missing")
            }
            guard let rawURL = urlNode.scalar?.string else {
                throw .configInvalid(file: file, key: "\(prefix).url", line: urlNode.mark?.line, problem: "expected a string")
            }
            let urlText = try expand(rawURL, key: "\(prefix).url", line: urlNode.mark?.line, file: file, environment: environment)
            let url: WebhookURL
            switch WebhookURL.validate(urlText, allowInsecureHTTP: allowHTTP) {
            case let .success(u): url = u
            case let .failure(problem):
                throw .configInvalid(file: file, key: "\(prefix).url", line: urlNode.mark?.line, problem: problem.description)
            }
            var secret: SigningSecret?
            if let s = m["signing_secret"] {
                guard kind == .webhook else {
                    throw .configInvalid(file: file, key: "\(prefix).signing_secret", line: s.mark?.line, problem: "only 'webhook' destinations are signed")
                }
                guard let raw = s.scalar?.string else {
                    throw .configInvalid(file: file, key: "\(prefix).signing_secret", line: s.mark?.line, problem: "expected a string")
                }
                let value = try expand(raw, key: "\(prefix).signing_secret", line: s.mark?.line, file: file, environment: environment)
                guard !value.isEmpty else {
                    throw .configInvalid(file: file, key: "\(prefix).signing_secret", line: s.mark?.line, problem: "empty")
                }
                secret = SigningSecret(value)
            }
            let rate = try rateLimit(in: m, keyPrefix: prefix, file: file, fallback: defaults)
            result.append(Destination(name: name, kind: kind, url: url, rateLimit: rate, signingSecret: secret))
        }
        return DestinationsFile(destinations: result)
    }

    private static func rateLimit(in m: Node.Mapping, keyPrefix: String, file: String, fallback: RateLimit) throws(SlackDeliveryError) -> RateLimit {
        var rate = fallback
        if let r = m["rate_per_second"] {
            guard let v = r.float, v > 0, v.isFinite else {
                throw .configInvalid(file: file, key: "\(keyPrefix).rate_per_second", line: r.mark?.line, problem: "expected a number > 0")
            }
            rate.perSecond = v
        }
        if let b = m["burst"] {
            guard let v = b.int, v >= 1 else {
                throw .configInvalid(file: file, key: "\(keyPrefix).burst", line: b.mark?.line, problem: "expected an integer >= 1")
            }
            rate.burst = v
        }
        return rate
    }

    /// Replaces every `${NAME}` in `text` with the environment's value. A missing or empty variable
    /// is an error naming the variable (a name, not a secret).
    static func expand(_ text: String, key: String, line: Int?, file: String, environment: [String: String]) throws(SlackDeliveryError) -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw .configInvalid(file: file, key: key, line: line, problem: "unterminated ${ reference")
            }
            let name = String(rest[open.upperBound..<close])
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                throw .configInvalid(file: file, key: key, line: line, problem: "bad environment variable name in ${...}")
            }
            guard let value = environment[name], !value.isEmpty else {
                throw .missingEnvironmentVariable(file: file, key: key, line: line, variable: name)
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }

    /// A YAML syntax error without the YAML text (the text may hold a literal URL).
    private static func syntaxError(_ error: YamlError, file: String) -> SlackDeliveryError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return .configInvalid(file: file, key: "(syntax)", line: mark.line, problem: "YAML syntax error: \(problem)")
        default:
            return .configInvalid(file: file, key: "(syntax)", line: nil, problem: "YAML syntax error")
        }
    }
}
