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
        let alert = SlackSampleAlerts.make(alertType, severity: sev, destination: destination, now: Self.now())
        let renderer = SlackMessageRenderer().styled(for: dest)  // the destination's currency, as the dispatcher
        let body = renderer.render(alert)
        let problems = BlockKitValidator.validate(message: body)
        print("destination: \(dest.name) (\(dest.kind.rawValue), \(dest.url.scheme), \(dest.rateLimit))")
        print("sample: \(alertType.rawValue), \(sev.rawValue): \(renderer.headerText(alert))")
        print("Block Kit check: \(problems.isEmpty ? "valid" : "\(problems.count) problem(s)")")
        for p in problems { print("  \(p)") }
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
        print("answer after \(ms) ms: \(outcome)")
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
                environment[variable] =
                    key.hasSuffix(".token")
                    ? "xoxb-dry-run-placeholder"
                    : key.hasSuffix(".url")
                        ? "https://dry-run.invalid/\(variable)" : "dry-run-placeholder-\(variable)-0123456789abcdef"
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
        case .delivered: return "OK: the webhook works; check the channel for the sample message."
        case .retryLater(let reason, _):
            switch reason {
            case .rateLimited: return "Slack is rate limiting this webhook; wait for Retry-After and try again."
            case .timeout, .connectionFailed:
                return "Could not reach the webhook: check egress, DNS and proxies from this pod."
            case .tlsFailed:
                return "TLS failed: check the CA bundle and any TLS-intercepting proxy (verification stays on)."
            case .serverError: return "Slack answered with a server error; try again later."
            default: return "Try again later."
            }
        case .permanent(let reason):
            switch reason {
            case .noService: return "The webhook was revoked or never existed: create a new one and update the Secret."
            case .channelNotFound, .channelIsArchived:
                return "The channel is gone or archived: pick another channel for this webhook."
            case .forbidden: return "Posting is not allowed (workspace policy or restricted channel)."
            case .invalidBlocks, .invalidPayload:
                return "Slack refused the message format: report this as a bug with the dry-run output."
            default: return "Fix the destination's configuration and try again."
            }
        }
    }
}

/// A sample alert of each type, with realistic facts, for `send-test` and the benchmark.
enum SlackSampleAlerts {
    static func make(_ type: AlertType, severity: Severity, destination: String, now: Timestamp, account: Int = 0)
        -> AlertRecord
    {
        let positive = type == .expansionSignal || type == .upsellOpportunity
        let recovered = type == .recovered
        let score = positive ? 86 : recovered ? 74 : 32
        let delta = positive ? 7 : recovered ? 22 : -18
        let zone: Zone = positive || recovered ? .healthy : .critical
        let record = ScoreRecord(
            accountId: "sample-\(account)", validAt: now, score: score, previousScore: score - delta, delta: delta,
            zone: zone,
            previousZone: recovered ? .critical : positive ? .healthy : .atRisk,
            components: FamilyScores(productUsage: 25, engagement: 40, support: 35, commercial: 30),
            signals: [
                Signal(
                    code: SignalCode.loginsDown, family: .productUsage, text: "Logins down 62% vs 28-day baseline",
                    impact: -12, value: -0.62, baseline: 140),
                Signal(
                    code: SignalCode.ticketSpike, family: .support, text: "5 tickets opened in 7 days (normal 1)",
                    impact: -6),
                Signal(
                    code: SignalCode.paymentFailures, family: .commercial, text: "2 failed payments this month",
                    impact: -5),
            ],
            positiveSignals: [
                Signal(
                    code: SignalCode.seatsGrowth, family: .commercial, text: "Seats up 40% in 30 days (50 → 70)",
                    impact: 8),
                Signal(
                    code: SignalCode.featureAdoption, family: .productUsage, text: "Adopted 3 premium features",
                    impact: 5),
            ],
            profile: AccountProfile(
                name: "Sample Account \(account) (fleet send-test)", tier: .enterprise, mrr: 12_400, owner: nil,
                url: "https://example.com/accounts/sample-\(account)", renewalDate: "2027-01-31"),
            triggers: [], eventIds: [], reasons: [.zoneChange], cancellationScheduled: false)
        var alert = AlertRecord(
            alertId: "sample-\(type.rawValue)-\(account)-\(now.millisecondsSinceEpoch)", type: type, severity: severity,
            priority: Priority(level: 2)!,
            destination: destination, accountId: "sample-\(account)", raisedAt: now, score: record,
            suggestedAction: positive
                ? "Offer the annual plan with the premium add-on." : "Call the champion this week and review adoption.",
            playbookURL: "https://example.com/playbooks/\(type.rawValue)", rule: "send-test")
        if type == .billingRetryFailed {
            alert.trigger = Trigger(
                type: .billingRetryFailed, eventId: "sample-e", occurredAt: now, ref: "in-sample", amount: 1_240,
                currency: "USD")
        }
        if type == .digest {
            alert.score = nil
            alert.digestTitle = "Sample digest"
            alert.digestItems = (0..<5).map { i in
                DigestItem(
                    alertId: "sample-\(i)", type: .healthScoreDrop, severity: .medium, accountId: "sample-\(i)",
                    accountName: "Sample Account \(i)",
                    score: 55 - i, delta: -(5 + i), zone: .atRisk,
                    headline: "Logins down \(20 + i)% vs 28-day baseline",
                    url: "https://example.com/accounts/sample-\(i)", at: now)
            }
        }
        return alert
    }
}
