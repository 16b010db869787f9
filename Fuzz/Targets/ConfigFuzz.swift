import AlertRules
import SlackDelivery

/// The rules file (`RULES_FILE`): parsing and validation never trap, whatever the YAML.
enum RulesFileFuzz {
    static let target = FuzzTarget(name: "rules-file", summary: "RulesConfig.parse (rules.yaml)") { input in
        _ = try? RulesConfig.parse(yaml: input.text, file: "rules.yaml")
    }
}

/// The destinations file (`DESTINATIONS_FILE`): Slack delivery's reading and the evaluator's
/// schedule policies never trap, whatever the YAML.
enum DestinationsFileFuzz {
    static let environment = [
        "SLACK_WEBHOOK_CUSTOMER_HEALTH": "https://slack-webhook.example.invalid/x",
        "SLACK_WEBHOOK_CS_ESCALATIONS": "https://slack-webhook.example.invalid/y",
        "SLACK_BOT_TOKEN": "xoxb-fuzz",
        "FEEDBACK_SECRET": "0123456789abcdef0123456789abcdef",
    ]

    static let target = FuzzTarget(name: "destinations-file", summary: "DestinationsFile.parse and schedule policies") {
        input in
        let yaml = input.text
        _ = try? DestinationsFile.parse(yaml: yaml, file: "destinations.yaml", environment: environment)
        _ = DestinationsFile.check(yaml: yaml, file: "destinations.yaml", environment: environment)
        _ = try? DestinationPolicy.parseAll(destinationsYAML: yaml, file: "destinations.yaml")
    }
}
