import Contracts

/// The JSON records between the stages: decoding never traps, and a decoded record survives
/// `decode(encode(x)) == x` with the same bytes written twice (the fleet's one canonical coding).
enum RecordRoundTrip {
    static func check<Record: Codable & Equatable>(_ type: Record.Type, _ input: UnsafeBufferPointer<UInt8>) {
        let record: Record
        do {
            record = try RecordCoding.decode(Record.self, from: input)
        } catch {
            _ = RecordCoding.describe(error)  // the reason a dead letter carries; must not trap either
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try RecordCoding.encode(record)
        } catch {
            FuzzCheck.fail("\(Record.self): a decoded record cannot be encoded: \(error)")
        }
        let again: Record
        do {
            again = try RecordCoding.decode(Record.self, from: bytes)
        } catch {
            FuzzCheck.fail(
                "\(Record.self): re-encoded record unreadable: \(RecordCoding.describe(error)): \(bytes.text)")
        }
        FuzzCheck.require(again == record, "\(Record.self): decode(encode(x)) != x: \(bytes.text)")
        FuzzCheck.require((try? RecordCoding.encode(again)) == bytes, "\(Record.self): encoding is not deterministic")
    }
}

enum ScoreRecordFuzz {
    static let target = FuzzTarget(name: "score-record", summary: "ScoreRecord (health-scores values)") { input in
        RecordRoundTrip.check(ScoreRecord.self, input)
    }
}

/// `ScoreRecordDecoder`, the evaluator's reader of `health-scores` values: never traps, and agrees
/// with `JSONDecoder` (the path it replaced) on every input: the same bytes accepted, with the same record.
enum ScoreRecordDecoderFuzz {
    static let target = FuzzTarget(
        name: "score-record-decoder", summary: "ScoreRecordDecoder against JSONDecoder (health-scores values)"
    ) { input in
        let ours: ScoreRecord?
        do throws(ScoreRecordDecodingError) {
            ours = try ScoreRecordDecoder.decode(input)
        } catch {
            _ = error.description  // the reason a dead letter carries; must not trap either
            ours = nil
        }
        let theirs = try? RecordCoding.decode(ScoreRecord.self, from: input)
        FuzzCheck.require(ours == theirs, "ScoreRecordDecoder and JSONDecoder disagree on \(input.text)")
    }
}

enum AlertRecordFuzz {
    static let target = FuzzTarget(name: "alert-record", summary: "AlertRecord and DigestItem (alerts values)") {
        input in
        RecordRoundTrip.check(AlertRecord.self, input)
        RecordRoundTrip.check(DigestItem.self, input)
    }
}

enum FeedbackRecordFuzz {
    static let target = FuzzTarget(name: "feedback-record", summary: "FeedbackRecord (alert-feedback values)") {
        input in
        RecordRoundTrip.check(FeedbackRecord.self, input)
    }
}

/// RFC 3339 timestamps (every record's times): parsing never traps; a parsed instant, formatted,
/// parses back to the same instant; the text and the byte parsers agree.
enum TimestampFuzz {
    static let target = FuzzTarget(name: "timestamp", summary: "Timestamp RFC 3339 parsing and formatting") { input in
        let parsed = Timestamp(rfc3339Bytes: input)
        FuzzCheck.require(
            Timestamp(rfc3339: input.text) == parsed || !input.elementsEqual(input.text.utf8),
            "text and byte parsers disagree on \(input.text)")
        guard let parsed else { return }
        let text = parsed.rfc3339
        FuzzCheck.require(
            Timestamp(rfc3339: text) == parsed, "\(input.text) formats as \(text), which does not parse back")
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
