import ArgumentParser
import Contracts
import Foundation
import Logging
import SlackDelivery

/// `fleet-admin send-test <destination>`: posts a sample alert to a named destination and reports
/// what it answered, so a team can check a new webhook in one step.
struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Post a sample alert to a named destination and report what Slack answered."
    )

    @Argument(help: "Destination name from the destinations file.")
    var destination: String

    @Option(name: .long, help: "Destinations file (default: DESTINATIONS_FILE, else config/destinations.yaml).")
    var destinations: String?

    @Option(name: .long, help: ArgumentHelp("The same as --destinations (older name).", visibility: .hidden))
    var config: String?

    @Option(
        name: .long, help: "Alert type of the sample: \(AlertType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String = AlertType.customerAtRisk.rawValue

    @Option(name: .long, help: "Severity of the sample: critical, high, medium, low.")
    var severity: String = Severity.critical.rawValue

    @Option(name: .long, help: "Total request timeout in milliseconds.")
    var timeoutMs: Int = 10_000

    @Flag(name: .long, help: "Print the rendered JSON and check it, without posting.")
    var dryRun = false

    func run() async throws {
        guard let alertType = AlertType(rawValue: type) else { throw ValidationError("unknown --type '\(type)'") }
        guard let sev = Severity(rawValue: severity) else { throw ValidationError("unknown --severity '\(severity)'") }
        let config = SettingSource.resolve(
            destinations ?? self.config, variable: SettingSource.destinationsVariable,
            fallback: "config/destinations.yaml")!
        let file = try Self.load(config, dryRun: dryRun)
        guard let dest = file[destination] else {
            throw ValidationError(
                "no destination named '\(destination)' in \(config) (known: \(file.destinations.map(\.name).joined(separator: ", ")))"
            )
        }
        let alert = SampleAlerts.make(alertType, severity: sev, destination: destination, now: Self.now())
        let renderer = SlackMessageRenderer().styled(for: dest)  // the destination's currency, as the dispatcher
        let body = renderer.render(alert)
        print("destination: \(dest.name) (\(dest.kind.rawValue), \(dest.url.scheme), \(dest.rateLimit))")
        print("sample: \(alertType.rawValue), \(sev.rawValue): \(renderer.headerText(alert))")
        if let email = dest.email, dest.kind == .email {
            // The MIME message as the dispatcher sends it (the credentials are not part of it).
            print("from: \(email.from), to: \(email.to.map(\.text).joined(separator: ", "))")
            if dryRun {
                let message = EmailRenderer(renderer: renderer).message(alert, settings: email, now: Self.now())
                print(String(decoding: message.rendered(), as: UTF8.self))
                return
            }
        } else {
            let problems = BlockKitValidator.validate(message: body)
            print("Block Kit check: \(problems.isEmpty ? "valid" : "\(problems.count) problem(s)")")
            for p in problems { print("  \(p)") }
        }
        if dryRun {
            print(
                String(decoding: dest.kind == .slack ? body : try GenericWebhookPayload.body(for: alert), as: UTF8.self)
            )
            return
        }
        var settings = EngineSettings()
        settings.totalTimeoutMilliseconds = timeoutMs
        var logger = Logger(label: "send-test")
        logger.logLevel = .error
        let deliverer = try SlackDeliverer(destinations: [dest], settings: settings, logger: logger)
        let started = ContinuousClock.now
        let outcome = await deliverer.submit(alert, to: dest.name)
        let elapsed = started.duration(to: .now).components
        let ms = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        await deliverer.shutdown()
        if dest.kind == .email, case .delivered(let code) = outcome {
            print("answer after \(ms) ms: delivered (SMTP \(code))")  // not HTTP: the SMTP server's reply code
        } else {
            print("answer after \(ms) ms: \(outcome)")
        }
        print(Self.advice(outcome))
        if !outcome.isDelivered { throw ExitCode(2) }
    }

    /// The destinations file with the environment's variables. A dry run renders without secrets:
    /// each variable the environment lacks gets a placeholder (never sent anywhere), and says so.
    static func load(_ path: String, dryRun: Bool) throws -> DestinationsFile {
        var environment = ProcessInfo.processInfo.environment
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError(
                "cannot read destinations file \(path) (--destinations or DESTINATIONS_FILE): \(error.localizedDescription)"
            )
        }
        if dryRun {
            for case .missingEnvironmentVariable(_, let key, _, let variable) in DestinationsFile.check(
                yaml: text, file: path, environment: environment
            ).problems {
                let isAddress = key.hasSuffix(".from") || key.hasSuffix(".to") || key.contains(".to[")
                environment[variable] =
                    isAddress
                    ? "dry-run@example.invalid"
                    : key.hasSuffix(".smtp_url")
                        ? "smtp://dry-run.invalid:587"
                        : key.hasSuffix(".token")
                            ? "xoxb-dry-run-placeholder"
                            : key.hasSuffix(".url")
                                ? "https://dry-run.invalid/\(variable)"
                                : "dry-run-placeholder-\(variable)-0123456789abcdef"
                print("dry run: \(variable) is not set; a placeholder stands in (nothing is posted)")
            }
        }
        do {
            return try DestinationsFile.parse(yaml: text, file: path, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    static func now() -> Timestamp {
        WallClock.system.now()
    }

    static func advice(_ outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .delivered(let status) where status != 200:
            return "OK: the destination accepted it (\(status)); check the mailbox or channel for the sample message."
        case .delivered: return "OK: the webhook works; check the channel for the sample message."
        case .retryLater(let reason, _):
            switch reason {
            case .rateLimited: return "Slack is rate limiting this webhook; wait for Retry-After and try again."
            case .timeout, .connectionFailed:
                return "Could not reach the webhook: check egress, DNS and proxies from this pod."
            case .tlsFailed:
                return "TLS failed: check the CA bundle and any TLS-intercepting proxy (verification stays on)."
            case .serverError: return "Slack answered with a server error; try again later."
            case .smtpTransient: return "The mail server refused it for now (4xx); try again later."
            default: return "Try again later."
            }
        case .permanent(let reason):
            switch reason {
            case .noService: return "The webhook was revoked or never existed: create a new one and update the Secret."
            case .channelNotFound, .channelIsArchived:
                return "The channel is gone or archived: pick another channel for this webhook."
            case .forbidden: return "Posting is not allowed (workspace policy or restricted channel)."
            case .smtpLoginDenied:
                return "The mail server refused the username and password: fix the Secret."
            case .smtpRejected:
                return "The mail server refused the sender or a recipient (5xx): check 'from' and 'to'."
            case .invalidBlocks, .invalidPayload:
                return "Slack refused the message format: report this as a bug with the dry-run output."
            default: return "Fix the destination's configuration and try again."
            }
        }
    }
}
