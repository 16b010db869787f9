import Foundation
import SlackDelivery
import TestSupport
import Testing

/// docs/destinations.md cannot drift from the parser: every YAML block in it is a destinations file
/// the dispatcher reads (variables set to test values), with no problem reported.
@Suite struct DestinationsReferenceTests {
    static let environment = [
        "SLACK_WEBHOOK_CUSTOMER_HEALTH": "https://slack-webhook.example.invalid/customer-health",
        "SLACK_WEBHOOK_BILLING_ALERTS": "https://slack-webhook.example.invalid/billing-alerts",
        "SLACK_BOT_TOKEN": "xoxb-test-token", "CRM_WEBHOOK_URL": "https://crm.example.com/hooks/fleet",
        "CRM_WEBHOOK_SECRET": "a-test-signing-secret-of-enough-length-0123456789",
        "SMTP_USERNAME": "fleet-mailer", "SMTP_PASSWORD": "a-test-smtp-password",
    ]

    @Test func everyExampleIsAFileTheDispatcherReads() throws {
        let blocks = try MarkdownExamples.yamlBlocks(ofFile: "docs/destinations.md")
        #expect(blocks.count >= 3, "docs/destinations.md has \(blocks.count) yaml examples")
        for block in blocks {
            let result = DestinationsFile.check(
                yaml: block.text, file: "docs/destinations.md", environment: Self.environment)
            #expect(result.problems.isEmpty, "example at line \(block.line): \(result.problems)")
            #expect(!result.file.destinations.isEmpty, "example at line \(block.line) defines no destination")
        }
    }
}
