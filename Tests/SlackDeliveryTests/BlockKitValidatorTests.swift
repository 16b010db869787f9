import Testing

@testable import SlackDelivery

@Suite("The Block Kit checker catches each broken rule")
struct BlockKitValidatorTests {
    func violations(_ json: String) -> [String] {
        BlockKitValidator.validate(message: Array(json.utf8)).map(\.description)
    }

    @Test func acceptsAMinimalValidMessage() {
        #expect(violations(#"{"text":"hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]}"#) == [])
    }

    @Test func rejectsEachBrokenRule() {
        let long151 = String(repeating: "h", count: 151)
        let cases: [(String, String)] = [
            (#"{"blocks":[{"type":"divider"}]}"#, "text: missing"),
            (
                #"{"text":"t","blocks":[{"type":"header","text":{"type":"plain_text","text":"\#(long151)"}}]}"#,
                "longer than 150"
            ),
            (
                #"{"text":"t","blocks":[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]}"#,
                "must be plain_text here"
            ),
            (
                #"{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"\#(String(repeating: "s", count: 3001))"}}]}"#,
                "longer than 3000"
            ),
            (#"{"text":"t","blocks":[{"type":"section"}]}"#, "section needs text or fields"),
            (
                #"{"text":"t","blocks":[{"type":"section","fields":[\#(Array(repeating: #"{"type":"mrkdwn","text":"f"}"#, count: 11).joined(separator: ","))]}]}"#,
                "1-10 items"
            ),
            (
                #"{"text":"t","blocks":[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"\#(String(repeating: "b", count: 76))"},"url":"https://x"}]}]}"#,
                "longer than 75"
            ),
            (
                #"{"text":"t","blocks":[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"b"},"url":"https://\#(String(repeating: "u", count: 3000))"}]}]}"#,
                "longer than 3000"
            ),
            (
                #"{"text":"t","blocks":[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"a"},"action_id":"x"},{"type":"button","text":{"type":"plain_text","text":"b"},"action_id":"x"}]}]}"#,
                "duplicate action_id"
            ),
            (
                #"{"text":"t","blocks":[\#(Array(repeating: #"{"type":"divider"}"#, count: 51).joined(separator: ","))]}"#,
                "more than 50 blocks"
            ),
            (#"{"text":"t","attachments":[{"color":"red","blocks":[]}]}"#, "#RRGGBB"),
            (
                #"{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"<!channel> hi"}}]}"#,
                "broadcast"
            ),
            (#"{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":""}}]}"#, "must not be empty"),
            (
                #"{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"x"},"colour":1}]}"#,
                "unknown field"
            ),
            (#"{"text":"t","blocks":[{"type":"video"}]}"#, "unsupported block type"),
            ("not json", "not a JSON object"),
        ]
        for (json, expected) in cases {
            let v = violations(json)
            #expect(v.contains(where: { $0.contains(expected) }), "expected '\(expected)' in \(v)")
        }
    }

    @Test func countsBlocksAcrossTopLevelAndAttachments() {
        let thirty = Array(repeating: #"{"type":"divider"}"#, count: 30).joined(separator: ",")
        let v = violations(
            ##"{"text":"t","blocks":[\##(thirty)],"attachments":[{"color":"#FF0000","blocks":[\##(thirty)]}]}"##)
        #expect(v.contains { $0.contains("more than 50 blocks in the message") })
    }
}
