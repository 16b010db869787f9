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
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(SlackDeliveryError) -> DestinationsFile
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configUnreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(yaml: text, file: path, environment: environment)
    }

    private static let destinationKeys: Set<String> = Set([
        "type", "url", "allow_insecure_http", "rate_per_second", "burst", "signing_secret",
        "token", "channel", "api_url", "currency", "templates",
    ]).union(emailKeys)

    /// The keys only `email` destinations take.
    static let emailKeys: Set<String> = [
        "smtp_url", "allow_insecure_smtp", "from", "to", "username", "password",
    ]

    /// The Slack Web API's base URL, used by `slack_app` destinations without `api_url` (the
    /// environment variable `SLACK_API_URL` overrides it for all of them, for tests and proxies).
    public static let defaultSlackAPIURL = "https://slack.com/api"

    /// Per-destination keys that belong to the destination's schedule (quiet hours, digest, group
    /// wait). They are read by `AlertRules` (`DestinationPolicy.parseAll(destinationsYAML:file:)`);
    /// this parser lets them through.
    public static let scheduleKeys: Set<String> = ["quiet_hours", "digest", "group_wait"]

    /// Parses the YAML text of a destinations file. Pure: the environment comes in as a value.
    /// Throws the first problem that `check(yaml:file:environment:)` finds.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(SlackDeliveryError)
        -> DestinationsFile
    {
        let result = check(yaml: yaml, file: file, environment: environment)
        if let first = result.problems.first { throw first }
        return result.file
    }

    /// Parses a destinations file and lists EVERY problem (each destination and each `${VAR}` on
    /// its own), in file order, with the destinations that are valid. Pure.
    public static func check(yaml: String, file: String, environment: [String: String]) -> (
        file: DestinationsFile, problems: [SlackDeliveryError]
    ) {
        var problems: [SlackDeliveryError] = []
        let empty = DestinationsFile(destinations: [])
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                return (empty, [.configInvalid(file: file, key: "destinations", line: nil, problem: "file is empty")])
            }
            root = node
        } catch let error as YamlError {
            return (empty, [syntaxError(error, file: file)])
        } catch {
            return (empty, [.configInvalid(file: file, key: "(document)", line: nil, problem: "not valid YAML")])
        }
        guard let top = root.mapping else {
            return (
                empty,
                [
                    .configInvalid(
                        file: file, key: "(document)", line: root.mark?.line,
                        problem: "expected a mapping with 'destinations'")
                ]
            )
        }
        for (key, _) in top {
            let k = key.string ?? ""
            if k != "defaults" && k != "destinations" {
                problems.append(
                    .configInvalid(
                        file: file, key: k, line: key.mark?.line,
                        problem: "unknown key (expected 'defaults' or 'destinations')"))
            }
        }
        var defaults = RateLimit.slackDefault
        if let d = top["defaults"] {
            if let m = d.mapping {
                for (key, _) in m where !["rate_per_second", "burst"].contains(key.string ?? "") {
                    problems.append(
                        .configInvalid(
                            file: file, key: "defaults.\(key.string ?? "?")", line: key.mark?.line,
                            problem: "unknown key (expected rate_per_second, burst)"))
                }
                defaults = rateLimit(in: m, keyPrefix: "defaults", file: file, fallback: defaults, problems: &problems)
            } else {
                problems.append(
                    .configInvalid(file: file, key: "defaults", line: d.mark?.line, problem: "expected a mapping"))
            }
        }
        guard let destinationsNode = top["destinations"] else {
            problems.append(.configInvalid(file: file, key: "destinations", line: root.mark?.line, problem: "missing"))
            return (empty, problems)
        }
        guard let list = destinationsNode.mapping else {
            problems.append(
                .configInvalid(
                    file: file, key: "destinations", line: destinationsNode.mark?.line,
                    problem: "expected a mapping of destination names"))
            return (empty, problems)
        }
        var result: [Destination] = []
        var seen: Set<String> = []
        for (nameNode, body) in list {
            guard let name = nameNode.string, !name.isEmpty else {
                problems.append(
                    .configInvalid(
                        file: file, key: "destinations", line: nameNode.mark?.line,
                        problem: "destination name must be a non-empty string"))
                continue
            }
            guard seen.insert(name).inserted else {
                problems.append(.duplicateDestination(file: file, name: name, line: nameNode.mark?.line))
                continue
            }
            let before = problems.count
            if let destination = parseDestination(
                name: name, nameNode: nameNode, body: body, file: file, defaults: defaults,
                environment: environment, problems: &problems), problems.count == before
            {
                result.append(destination)
            }
        }
        return (DestinationsFile(destinations: result), problems)
    }

    /// One destination; adds each of its problems and returns nil if it has any.
    private static func parseDestination(
        name: String, nameNode: Node, body: Node, file: String, defaults: RateLimit,
        environment: [String: String], problems: inout [SlackDeliveryError]
    ) -> Destination? {
        let prefix = "destinations.\(name)"
        guard let m = body.mapping else {
            problems.append(
                .configInvalid(
                    file: file, key: prefix, line: body.mark?.line, problem: "expected a mapping with at least 'url'"))
            return nil
        }
        let before = problems.count
        for (key, _) in m where !destinationKeys.contains(key.string ?? "") && !scheduleKeys.contains(key.string ?? "")
        {
            let known = (destinationKeys.union(scheduleKeys)).sorted().joined(separator: ", ")
            problems.append(
                .configInvalid(
                    file: file, key: "\(prefix).\(key.string ?? "?")", line: key.mark?.line,
                    problem: "unknown key (expected one of \(known))"))
        }
        var kind = Destination.Kind.slack
        if let t = m["type"] {
            if let s = t.string, let k = Destination.Kind(rawValue: s) {
                kind = k
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).type", line: t.mark?.line,
                        problem: "expected 'slack', 'slack_app', 'webhook' or 'email'"))
            }
        }
        var allowHTTP = false
        if let a = m["allow_insecure_http"] {
            if let b = a.bool {
                allowHTTP = b
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).allow_insecure_http", line: a.mark?.line,
                        problem: "expected true or false"))
            }
        }
        var url: WebhookURL?
        var app: (token: BotToken, channel: String)?
        var email: EmailSettings?
        if kind == .slackApp {
            if let u = m["url"] {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).url", line: u.mark?.line,
                        problem:
                            "a slack_app destination posts with 'token' and 'channel' (use 'api_url' to change the Web API base)"
                    ))
            }
            let parsed = parseSlackApp(
                m, prefix: prefix, nameNode: nameNode, file: file, allowHTTP: allowHTTP, environment: environment,
                problems: &problems)
            url = parsed?.apiURL
            app = parsed.map { ($0.token, $0.channel) }
        } else if kind == .email {
            if let u = m["url"] {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).url", line: u.mark?.line,
                        problem: "an email destination names its server with 'smtp_url'"))
            }
            let parsed = parseEmail(
                m, prefix: prefix, nameNode: nameNode, file: file, environment: environment, problems: &problems)
            url = parsed?.smtpURL
            email = parsed?.settings
        } else if let urlNode = m["url"] {
            if let rawURL = urlNode.scalar?.string {
                if let urlText = expand(
                    rawURL, key: "\(prefix).url", line: urlNode.mark?.line, file: file, environment: environment,
                    problems: &problems)
                {
                    switch WebhookURL.validate(urlText, allowInsecureHTTP: allowHTTP) {
                    case .success(let u): url = u
                    case .failure(let problem):
                        problems.append(
                            .configInvalid(
                                file: file, key: "\(prefix).url", line: urlNode.mark?.line, problem: problem.description
                            ))
                    }
                }
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).url", line: urlNode.mark?.line, problem: "expected a string"))
            }
        } else {
            problems.append(
                .configInvalid(file: file, key: "\(prefix).url", line: nameNode.mark?.line, problem: "missing"))
        }
        if kind != .email {
            for key in emailKeys.sorted() {
                if let n = m[key] {
                    problems.append(
                        .configInvalid(
                            file: file, key: "\(prefix).\(key)", line: n.mark?.line,
                            problem: "only 'email' destinations take '\(key)'"))
                }
            }
        } else if let a = m["allow_insecure_http"] {
            problems.append(
                .configInvalid(
                    file: file, key: "\(prefix).allow_insecure_http", line: a.mark?.line,
                    problem: "an email destination takes 'allow_insecure_smtp' instead"))
        }
        if kind != .slackApp {
            for key in ["token", "channel", "api_url"] {
                if let n = m[key] {
                    problems.append(
                        .configInvalid(
                            file: file, key: "\(prefix).\(key)", line: n.mark?.line,
                            problem: "only 'slack_app' destinations take '\(key)'"))
                }
            }
        }
        var secret: SigningSecret?
        if let s = m["signing_secret"] {
            let key = "\(prefix).signing_secret"
            if kind != .webhook {
                problems.append(
                    .configInvalid(
                        file: file, key: key, line: s.mark?.line, problem: "only 'webhook' destinations are signed"))
            } else if let raw = s.scalar?.string {
                if let value = expand(
                    raw, key: key, line: s.mark?.line, file: file, environment: environment, problems: &problems)
                {
                    if value.isEmpty {
                        problems.append(.configInvalid(file: file, key: key, line: s.mark?.line, problem: "empty"))
                    } else {
                        secret = SigningSecret(value)
                    }
                }
            } else {
                problems.append(.configInvalid(file: file, key: key, line: s.mark?.line, problem: "expected a string"))
            }
        }
        let rate = rateLimit(in: m, keyPrefix: prefix, file: file, fallback: defaults, problems: &problems)
        var currency = Currency.usd
        if let c = m["currency"] {
            if let raw = c.scalar?.string, let parsed = Currency(code: raw) {
                currency = parsed
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).currency", line: c.mark?.line,
                        problem: "expected an ISO 4217 code of three letters, such as USD, EUR or GBP"))
            }
        }
        var templates = MessageTemplates()
        if let t = m["templates"] {
            templates = MessageTemplatesParser.parse(t, prefix: "\(prefix).templates", file: file, problems: &problems)
        }
        guard problems.count == before, let url else { return nil }
        var destination: Destination
        if let app {
            destination = Destination(name: name, apiURL: url, token: app.token, channel: app.channel, rateLimit: rate)
        } else if let email {
            destination = Destination(name: name, smtpURL: url, email: email, rateLimit: rate)
        } else {
            destination = Destination(name: name, kind: kind, url: url, rateLimit: rate, signingSecret: secret)
        }
        destination.currency = currency
        destination.templates = templates
        if !templates.isEmpty, let node = m["templates"] {
            // Rendered for a sample of each type: a template must fit Slack's limits with real values.
            for problem in MessageTemplatesParser.checkAgainstSamples(destination, node: node) {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).templates.\(problem.key)", line: problem.line,
                        problem: problem.message))
            }
            if problems.count != before { return nil }
        }
        return destination
    }

    /// The keys of a `slack_app` destination: `token` (required, usually `${SLACK_BOT_TOKEN}`),
    /// `channel` (required, a channel id such as `C0123ABCD`), `api_url` (optional, else
    /// `SLACK_API_URL` from the environment, else `defaultSlackAPIURL`).
    private static func parseSlackApp(
        _ m: Node.Mapping, prefix: String, nameNode: Node, file: String, allowHTTP: Bool,
        environment: [String: String], problems: inout [SlackDeliveryError]
    ) -> (apiURL: WebhookURL, token: BotToken, channel: String)? {
        let before = problems.count
        var token: BotToken?
        if let t = m["token"] {
            if let raw = t.scalar?.string {
                if let value = expand(
                    raw, key: "\(prefix).token", line: t.mark?.line, file: file, environment: environment,
                    problems: &problems)
                {
                    if value.isEmpty || value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
                        problems.append(
                            .configInvalid(
                                file: file, key: "\(prefix).token", line: t.mark?.line,
                                problem: "empty or contains whitespace"))
                    } else {
                        token = BotToken(value)
                    }
                }
            } else {
                problems.append(
                    .configInvalid(file: file, key: "\(prefix).token", line: t.mark?.line, problem: "expected a string")
                )
            }
        } else {
            problems.append(
                .configInvalid(
                    file: file, key: "\(prefix).token", line: nameNode.mark?.line,
                    problem: "missing (the bot token, e.g. ${SLACK_BOT_TOKEN})"))
        }
        var channel: String?
        if let c = m["channel"] {
            if let raw = c.scalar?.string,
                let value = expand(
                    raw, key: "\(prefix).channel", line: c.mark?.line, file: file, environment: environment,
                    problems: &problems)
            {
                if isChannelId(value) {
                    channel = value
                } else {
                    problems.append(
                        .configInvalid(
                            file: file, key: "\(prefix).channel", line: c.mark?.line,
                            problem:
                                "expected a channel id such as C0123ABCD (not a #name: conversations.history needs the id)"
                        ))
                }
            } else if c.scalar?.string == nil {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).channel", line: c.mark?.line, problem: "expected a string"))
            }
        } else {
            problems.append(
                .configInvalid(
                    file: file, key: "\(prefix).channel", line: nameNode.mark?.line,
                    problem: "missing (a channel id such as C0123ABCD)"))
        }
        var apiText = environment["SLACK_API_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSlackAPIURL
        var apiLine = nameNode.mark?.line
        if let a = m["api_url"] {
            apiLine = a.mark?.line
            if let raw = a.scalar?.string,
                let value = expand(
                    raw, key: "\(prefix).api_url", line: a.mark?.line, file: file, environment: environment,
                    problems: &problems)
            {
                apiText = value
            } else if a.scalar?.string == nil {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(prefix).api_url", line: a.mark?.line, problem: "expected a string"))
            }
        }
        while apiText.hasSuffix("/") { apiText.removeLast() }
        var apiURL: WebhookURL?
        switch WebhookURL.validate(apiText, allowInsecureHTTP: allowHTTP) {
        case .success(let u): apiURL = u
        case .failure(let problem):
            problems.append(
                .configInvalid(file: file, key: "\(prefix).api_url", line: apiLine, problem: problem.description))
        }
        guard problems.count == before, let apiURL, let token, let channel else { return nil }
        return (apiURL, token, channel)
    }

    /// The keys of an `email` destination: `smtp_url` (required: `smtp://host:587`, upgraded with
    /// STARTTLS, or `smtps://host:465`), `allow_insecure_smtp` (a server without TLS: local test
    /// servers only), `from` (required), `to` (required, a list), `username` and `password`
    /// (together or not at all, each a `${VAR}`: a literal password is refused).
    private static func parseEmail(
        _ m: Node.Mapping, prefix: String, nameNode: Node, file: String, environment: [String: String],
        problems: inout [SlackDeliveryError]
    ) -> (smtpURL: WebhookURL, settings: EmailSettings)? {
        let before = problems.count
        func problem(_ key: String, _ node: Node?, _ text: String) {
            problems.append(
                .configInvalid(
                    file: file, key: "\(prefix).\(key)", line: (node ?? nameNode).mark?.line, problem: text))
        }
        /// The string value of `key` with `${VAR}` expanded; nil (and a problem) if it is not one.
        func string(_ key: String, _ node: Node) -> String? {
            guard let raw = node.scalar?.string else {
                problem(key, node, "expected a string")
                return nil
            }
            return expand(
                raw, key: "\(prefix).\(key)", line: node.mark?.line, file: file, environment: environment,
                problems: &problems)
        }
        var insecure = false
        if let a = m["allow_insecure_smtp"] {
            if let b = a.bool { insecure = b } else { problem("allow_insecure_smtp", a, "expected true or false") }
        }
        var smtpURL: WebhookURL?
        if let u = m["smtp_url"] {
            if let text = string("smtp_url", u) {
                switch WebhookURL.validateSMTP(text) {
                case .success(let url): smtpURL = url
                case .failure(let p): problem("smtp_url", u, p.description)
                }
            }
        } else {
            problem("smtp_url", nil, "missing (smtp://host:587 with STARTTLS, or smtps://host:465)")
        }
        var from: EmailAddress?
        if let f = m["from"] {
            if let text = string("from", f) {
                do throws(EmailAddress.Problem) {
                    from = try EmailAddress(text)
                } catch {
                    problem("from", f, error.description)
                }
            }
        } else {
            problem("from", nil, "missing (the sender address, e.g. alerts@example.com)")
        }
        var to: [EmailAddress] = []
        if let t = m["to"] {
            let items: [Node] = t.sequence.map { Array($0) } ?? (t.scalar != nil ? [t] : [])
            if items.isEmpty { problem("to", t, "expected a list of one or more addresses") }
            for (i, item) in items.enumerated() {
                let key = t.sequence == nil ? "to" : "to[\(i)]"
                guard let text = string(key, item) else { continue }
                do throws(EmailAddress.Problem) {
                    let address = try EmailAddress(text)
                    if !to.contains(address) { to.append(address) }
                } catch {
                    problem(key, item, error.description)
                }
            }
        } else {
            problem("to", nil, "missing (a list of recipient addresses)")
        }
        var credentials: SMTPCredentials?
        switch (m["username"], m["password"]) {
        case (nil, nil): break
        case (let u?, nil): problem("password", u, "missing: 'username' and 'password' go together")
        case (nil, let p?): problem("username", p, "missing: 'username' and 'password' go together")
        case (let u?, let p?):
            if let raw = p.scalar?.string, !raw.contains("${") {
                problem("password", p, "must be a ${VAR} reference (filled from a Secret), never the password itself")
            }
            let user = string("username", u)
            let password = string("password", p)
            if let user, let password {
                if user.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
                    || password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
                {
                    problem("username", u, "the user name or password contains a line break or control character")
                } else {
                    credentials = SMTPCredentials(username: user, password: password)
                }
            }
        }
        guard problems.count == before, let smtpURL, let from, !to.isEmpty else { return nil }
        let requireTLS = smtpURL.scheme == "smtps" || !insecure
        return (smtpURL, EmailSettings(from: from, to: to, credentials: credentials, requireTLS: requireTLS))
    }

    /// A Slack conversation id: `C`, `G` or `D` then upper-case letters and digits.
    static func isChannelId(_ text: String) -> Bool {
        guard let first = text.first, "CGD".contains(first), text.count >= 2, text.count <= 32 else { return false }
        return text.dropFirst().allSatisfy { ($0.isASCII && $0.isUppercase) || ($0.isASCII && $0.isNumber) }
    }

    private static func rateLimit(
        in m: Node.Mapping, keyPrefix: String, file: String, fallback: RateLimit, problems: inout [SlackDeliveryError]
    ) -> RateLimit {
        var rate = fallback
        if let r = m["rate_per_second"] {
            if let v = r.float, v > 0, v.isFinite {
                rate.perSecond = v
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(keyPrefix).rate_per_second", line: r.mark?.line,
                        problem: "expected a number > 0"))
            }
        }
        if let b = m["burst"] {
            if let v = b.int, v >= 1 {
                rate.burst = v
            } else {
                problems.append(
                    .configInvalid(
                        file: file, key: "\(keyPrefix).burst", line: b.mark?.line, problem: "expected an integer >= 1"))
            }
        }
        return rate
    }

    /// Replaces every `${NAME}` in `text` with the environment's value. Each missing or empty
    /// variable is a problem naming the variable (a name, never a value); nil if there is any.
    static func expand(
        _ text: String, key: String, line: Int?, file: String, environment: [String: String],
        problems: inout [SlackDeliveryError]
    ) -> String? {
        guard text.contains("${") else { return text }
        var out = ""
        var complete = true
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                problems.append(.configInvalid(file: file, key: key, line: line, problem: "unterminated ${ reference"))
                return nil
            }
            let name = String(rest[open.upperBound..<close])
            rest = rest[rest.index(after: close)...]
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                problems.append(
                    .configInvalid(file: file, key: key, line: line, problem: "bad environment variable name in ${...}")
                )
                complete = false
                continue
            }
            guard let value = environment[name], !value.isEmpty else {
                problems.append(.missingEnvironmentVariable(file: file, key: key, line: line, variable: name))
                complete = false
                continue
            }
            out += value
        }
        out += rest
        return complete ? out : nil
    }

    /// A YAML syntax error without the YAML text (the text may hold a literal URL).
    private static func syntaxError(_ error: YamlError, file: String) -> SlackDeliveryError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .configInvalid(
                file: file, key: "(syntax)", line: mark.line, problem: "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .configInvalid(
                file: file, key: duplicates.joined(separator: ", "), line: context.mark.line, problem: "duplicate key")
        default:
            return .configInvalid(file: file, key: "(syntax)", line: nil, problem: "YAML syntax error")
        }
    }
}
