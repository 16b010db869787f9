import Foundation
import TestSupport
import Testing

@testable import Contracts

/// `ScoreRecordDecoder` against Foundation's `JSONDecoder` (the path it replaces): the same records
/// accepted with the same values, the same refused, reasons for people.
@Suite struct ScoreRecordDecoderTests {
    static let base = RecordCodingTests.score

    /// The canonical bytes of `base`, as text, with `edit` applied to the text.
    static func text(_ edit: (String) -> String = { $0 }) -> String {
        edit(String(decoding: (try? RecordCoding.encode(base)) ?? [], as: UTF8.self))
    }

    static func outcome(_ json: String) -> String {
        do {
            _ = try ScoreRecordDecoder.decode(Array(json.utf8))
            return "ok"
        } catch {
            return error.description
        }
    }

    static func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? RecordCoding.decode(ScoreRecord.self, from: bytes)) != nil
    }

    @Test func decodesWhatTheEncoderWrites() throws {
        let bytes = try RecordCoding.encode(Self.base)
        #expect(try ScoreRecordDecoder.decode(bytes) == Self.base)
        var sparse = Self.base
        sparse.previousScore = nil
        sparse.previousZone = nil
        sparse.profile = AccountProfile()
        sparse.triggers = []
        sparse.signals = []
        sparse.sequence = 7
        #expect(try ScoreRecordDecoder.decode(try RecordCoding.encode(sparse)) == sparse)
    }

    /// Inputs both decoders accept, with what they read.
    @Test(arguments: [
        // whitespace, key order, unknown keys (with values Foundation does not read), nulls for optionals
        text {
            " \n\t" + $0.replacingOccurrences(of: ",", with: " ,\r\n ").replacingOccurrences(of: "\":", with: "\" : ")
                + "\n"
        },
        text {
            $0.replacingOccurrences(
                of: "{\"account_id\"", with: "{\"zz\":[1,{\"a\":[true,false,null]},-],\"account_id\"")
        },
        text { $0.replacingOccurrences(of: "\"delta\"", with: "\"x\":\"\\q\\ud800\",\"y\":1e999,\"delta\"") },
        text { $0.replacingOccurrences(of: "\"delta\"", with: "\"previous_zone\":null,\"sequence\":null,\"delta\"") },
        text { $0.replacingOccurrences(of: "\"zone\":\"critical\"", with: "\"zone\":\"critical\",\"zone\":7") },
        text {
            $0.replacingOccurrences(
                of: "\"reasons\":[\"zone_change\",\"business_event\"]", with: "\"reasons\":[\"zone_change\",]")
        },
        text { $0.replacingOccurrences(of: "}", with: ",}") },
        // escapes in keys and values, \u with surrogate pairs
        text { $0.replacingOccurrences(of: "\"valid_at\"", with: "\"valid\\u005fat\"") },
        text {
            $0.replacingOccurrences(
                of: "Acme Corp", with: "Ac\\u006de \\\"C\\/orp\\\\ \\ud83d\\ude00 \\u00e9\\b\\f\\n\\r\\t")
        },
        text { $0.replacingOccurrences(of: "\"2026-11-20T10:00:00Z\"", with: "\"2026-11-20T10:00:00.5+01:00\"") },
        // numbers: -0, exponents, fractions for an Int that is whole
        text { $0.replacingOccurrences(of: "\"mrr\":12000", with: "\"mrr\":1.2e4") },
        text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":32.0") },
        text { $0.replacingOccurrences(of: "\"delta\":-18", with: "\"delta\":-1.8E1") },
        text { $0.replacingOccurrences(of: "\"impact\":-14.5", with: "\"impact\":-0") },
        text { $0.replacingOccurrences(of: "\"impact\":-14.5", with: "\"impact\":-0e1") },
        text { $0.replacingOccurrences(of: "\"impact\":-14.5", with: "\"impact\":0e10") },
        text { $0.replacingOccurrences(of: "\"impact\":-14.5", with: "\"impact\":0.0e1") },
        "\u{FEFF}" + text(),
    ])
    func acceptsLikeFoundation(json: String) throws {
        let bytes = Array(json.utf8)
        let foundation = try RecordCoding.decode(ScoreRecord.self, from: bytes)
        #expect(try ScoreRecordDecoder.decode(bytes) == foundation, "\(json)")
    }

    /// Inputs both refuse, and the reason the dead letter carries.
    @Test(arguments: [
        ("", "not valid JSON at byte 0: unexpected end of input"),
        ("[]", "wrong type: expected an object"),
        ("null", "wrong type: expected an object"),
        ("{}", "missing key \"schema\""),
        (
            text { $0.replacingOccurrences(of: "\"valid_at\":\"2026-11-20T10:00:00Z\",", with: "") },
            "missing key \"valid_at\""
        ),
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":\"32\"") },
            "wrong type at score: expected a number"
        ),
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":null") },
            "wrong type at score: expected a number"
        ),
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":32.5") },
            "bad value at score: not a whole number that fits in 64 bits"
        ),
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":9223372036854775808") },
            "bad value at score: number does not fit in 64 bits"
        ),
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":1e400") },
            "bad value at score: not a whole number that fits in 64 bits"
        ),
        (
            text { $0.replacingOccurrences(of: "\"mrr\":12000", with: "\"mrr\":1e400") },
            "bad value at profile.mrr: number out of range"
        ),
        (
            text { $0.replacingOccurrences(of: "\"mrr\":12000", with: "\"mrr\":1e-400") },
            "bad value at profile.mrr: number out of range"
        ),
        // Foundation's underflow check reads a short token's last bytes first (what `scripts/fuzz` found)
        (
            text { $0.replacingOccurrences(of: "\"mrr\":12000", with: "\"mrr\":0e1") },
            "bad value at profile.mrr: number out of range"
        ),
        (
            text { $0.replacingOccurrences(of: "\"mrr\":12000", with: "\"mrr\":012") },
            "bad value at profile.mrr: not a number"
        ),
        (
            text { $0.replacingOccurrences(of: "\"zone\":\"critical\"", with: "\"zone\":\"red\"") },
            "bad value at zone: \"red\" is not one of healthy, at_risk, critical"
        ),
        (
            text { $0.replacingOccurrences(of: "2026-11-20T10:00:00Z", with: "2026-11-31T10:00:00Z") },
            "bad value at valid_at: not RFC 3339"
        ),
        (
            text { $0.replacingOccurrences(of: "\"impact\":-14.5", with: "\"impact\":true") },
            "wrong type at signals[0].impact: expected a number"
        ),
        (
            text { $0.replacingOccurrences(of: "\"code\":\"logins_down\",", with: "") },
            "missing key \"code\" in signals[0]"
        ),
        (
            text { $0.replacingOccurrences(of: "\"signals\":[", with: "\"signals\":[null,") },
            "wrong type at signals[0]: expected an object"
        ),
        (
            text { $0.replacingOccurrences(of: "\"event_ids\":[\"e-9\"]", with: "\"event_ids\":{}") },
            "wrong type at event_ids: expected a list"
        ),
        (
            text {
                $0.replacingOccurrences(of: "\"cancellation_scheduled\":false", with: "\"cancellation_scheduled\":0")
            },
            "wrong type at cancellation_scheduled: expected true or false"
        ),
        (
            text { $0.replacingOccurrences(of: "Acme Corp", with: "Acme \\ud800 Corp") },
            "bad value at profile.name: unpaired surrogate in \\u escape"
        ),
        (
            text { $0.replacingOccurrences(of: "Acme Corp", with: "Acme \\x Corp") },
            "bad value at profile.name: bad escape in text"
        ),
        (
            text { $0.replacingOccurrences(of: "Acme Corp", with: "Acme\tCorp") },
            "bad value at profile.name: control character in text"
        ),
        (
            text { $0.replacingOccurrences(of: "\"delta\"", with: "\"bad\\key\":1,\"delta\"") },
            "bad value: bad key"
        ),
        // a syntax error anywhere wins over a field's fault, as with Foundation
        (
            text { $0.replacingOccurrences(of: "\"score\":32", with: "\"score\":\"x\"") + "x" },
            "not valid JSON"
        ),
        (
            text { $0.replacingOccurrences(of: "\"delta\"", with: "\"x\":tru,\"delta\"") },
            "not valid JSON"
        ),
    ])
    func refusesLikeFoundation(json: String, reason: String) {
        #expect(!Self.foundationAccepts(Array(json.utf8)), "Foundation accepts \(json)")
        let got = Self.outcome(json)
        if reason.hasPrefix("not valid JSON") {
            #expect(got.hasPrefix("not valid JSON"), "\(got)")
        } else {
            #expect(got == reason)
        }
        #expect(RecordCoding.describe(ScoreRecordDecodingError(.missingKey("k"))) == "missing key \"k\"")
    }

    @Test func nestingIsBoundedAt512LevelsAsInFoundation() {
        for (levels, accepted) in [(511, true), (512, false), (5000, false)] {
            let deep = String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
            let json = Self.text { $0.replacingOccurrences(of: "\"delta\"", with: "\"deep\":\(deep),\"delta\"") }
            #expect(Self.foundationAccepts(Array(json.utf8)) == accepted)
            #expect((Self.outcome(json) == "ok") == accepted, "\(levels)")
        }
    }

    @Test func utf16InputIsLeftToFoundation() throws {
        let utf16 = Array(Self.text().utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(try ScoreRecordDecoder.decode(utf16) == Self.base)
    }

    // MARK: Property: the same verdict and value as Foundation

    /// Many generated records, each written canonically and in a random layout (key order, whitespace,
    /// escapes, unknown keys, nulls), then mutated and truncated: both decoders agree on every input.
    @Test func agreesWithFoundationOnGeneratedAndMutatedRecords() async throws {
        try await CPULane.run {
            var rng = TestRandom(seed: 27)
            var accepted = 0
            var refused = 0
            for round in 0..<1500 {
                let record = Self.randomRecord(&rng)
                let canonical = try RecordCoding.encode(record)
                #expect(try ScoreRecordDecoder.decode(canonical) == record, "round \(round)")
                var inputs: [[UInt8]] = [canonical]
                if let tree = JSONTree.parse(canonical) {
                    inputs.append(Array(tree.written(&rng).utf8))
                }
                for source in inputs {
                    inputs.append(Array(source.prefix(rng.below(source.count + 1))))
                    for _ in 0..<4 { inputs.append(Self.mutated(source, &rng)) }
                }
                for input in inputs {
                    let ours = try? ScoreRecordDecoder.decode(input)
                    let theirs = try? RecordCoding.decode(ScoreRecord.self, from: input)
                    #expect(ours == theirs, "disagree on \(String(decoding: input, as: UTF8.self))")
                    if let ours, let theirs {
                        #expect(try RecordCoding.encode(ours) == RecordCoding.encode(theirs))
                        accepted += 1
                    } else {
                        refused += 1
                    }
                }
            }
            #expect(accepted > 3000 && refused > 3000)
        }
    }

    static func mutated(_ bytes: [UInt8], _ rng: inout TestRandom) -> [UInt8] {
        var out = bytes
        let interesting = Array("{}[]\",:\\ 0123456789-+.eEtrufalsn\u{7F}".utf8) + [0, 0x0A, 0x1F, 0x80, 0xC3, 0xFF]
        for _ in 0..<(1 + rng.below(3)) {
            let at = rng.below(out.count + 1)
            switch rng.below(4) {
            case 0 where at < out.count: out[at] = interesting[rng.below(interesting.count)]
            case 1 where at < out.count: out.remove(at: at)
            case 2: out.insert(interesting[rng.below(interesting.count)], at: at)
            default: if at < out.count { out[at] = UInt8(truncatingIfNeeded: rng.next()) }
            }
        }
        return out
    }

    static func randomText(_ rng: inout TestRandom) -> String {
        let pieces = [
            "a", "Z", "acct-", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{7F}", "é", "€", "😀", "日本", "%", "0",
        ]
        return (0..<rng.below(12)).map { _ in pieces[rng.below(pieces.count)] }.joined()
    }

    static func randomDouble(_ rng: inout TestRandom) -> Double {
        switch rng.below(5) {
        case 0: return Double(rng.below(201)) - 100
        case 1: return Double(rng.below(2_000_001)) / 1000 - 1000
        case 2: return Double(rng.below(1000)) / 3
        case 3:
            let d = Double(bitPattern: rng.next())
            return d.isFinite ? d : 0.1
        default: return [0.0, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 0.1, 0.30000000000000004][rng.below(7)]
        }
    }

    static func randomInt(_ rng: inout TestRandom) -> Int {
        switch rng.below(3) {
        case 0: Int(rng.below(101))
        case 1: Int(truncatingIfNeeded: rng.next())
        default: [Int.min, Int.max, 0, -1, 1 << 53, (1 << 53) + 1][rng.below(6)]
        }
    }

    static func randomSignal(_ rng: inout TestRandom) -> Signal {
        Signal(
            code: randomText(&rng), family: SignalFamily.allCases[rng.below(4)], text: randomText(&rng),
            impact: randomDouble(&rng), value: rng.below(2) == 0 ? nil : randomDouble(&rng),
            baseline: rng.below(2) == 0 ? nil : randomDouble(&rng))
    }

    static func randomTime(_ rng: inout TestRandom) -> Timestamp {
        // 1970 through 9999 (the years RFC 3339 text holds), whole seconds or with milliseconds.
        Timestamp(
            millisecondsSinceEpoch: Int64(rng.below(253_402_300_799)) * 1000
                + Int64(rng.below(2) == 0 ? 0 : rng.below(1000)))
    }

    static func randomRecord(_ rng: inout TestRandom) -> ScoreRecord {
        func maybe<T>(_ make: (inout TestRandom) -> T) -> T? { rng.below(2) == 0 ? nil : make(&rng) }
        return ScoreRecord(
            schema: randomInt(&rng), accountId: randomText(&rng), validAt: randomTime(&rng), score: randomInt(&rng),
            previousScore: maybe(randomInt), delta: randomInt(&rng), zone: Zone.allCases[rng.below(3)],
            previousZone: maybe { Zone.allCases[$0.below(3)] },
            components: FamilyScores(
                productUsage: randomDouble(&rng), engagement: randomDouble(&rng), support: randomDouble(&rng),
                commercial: randomDouble(&rng)),
            signals: (0..<rng.below(4)).map { _ in randomSignal(&rng) },
            positiveSignals: (0..<rng.below(3)).map { _ in randomSignal(&rng) },
            profile: AccountProfile(
                name: maybe(randomText), tier: maybe { Tier.allCases[$0.below(3)] }, mrr: maybe(randomDouble),
                owner: maybe(randomText), url: maybe(randomText), renewalDate: maybe(randomText),
                timezone: maybe(randomText)),
            triggers: (0..<rng.below(3)).map { _ in
                Trigger(
                    type: TriggerType.allCases[rng.below(5)], eventId: randomText(&rng),
                    occurredAt: randomTime(&rng), ref: maybe(randomText), amount: maybe(randomDouble),
                    currency: maybe(randomText), seatsBefore: maybe(randomInt), seatsAfter: maybe(randomInt))
            },
            eventIds: (0..<rng.below(4)).map { _ in randomText(&rng) },
            reasons: (0..<rng.below(3)).map { _ in EmitReason.allCases[rng.below(5)] },
            cancellationScheduled: rng.below(2) == 0, sequence: maybe(randomInt))
    }
}

/// SplitMix64: repeatable random numbers for the property tests.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 0..<bound (0 when bound is 0).
    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }
}

/// A JSON value read from the canonical encoder's bytes (numbers kept as written), written back
/// in a random but equivalent layout.
indirect enum JSONTree {
    case object([(String, JSONTree)])
    case array([JSONTree])
    case string(String)
    case raw(String)  // numbers, true, false, null

    /// Reads the canonical encoder's output (no whitespace); nil for anything else.
    static func parse(_ bytes: [UInt8]) -> JSONTree? {
        var i = 0
        guard let tree = value(bytes, &i), i == bytes.count else { return nil }
        return tree
    }

    private static func value(_ b: [UInt8], _ i: inout Int) -> JSONTree? {
        guard i < b.count else { return nil }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, JSONTree)] = []
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while i < b.count {
                guard case .string(let key)? = value(b, &i), i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let v = value(b, &i), i < b.count else { return nil }
                members.append((key, v))
                i += 1
                if b[i - 1] == UInt8(ascii: "}") { return .object(members) }
            }
            return nil
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONTree] = []
            if i < b.count, b[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while i < b.count {
                guard let v = value(b, &i), i < b.count else { return nil }
                items.append(v)
                i += 1
                if b[i - 1] == UInt8(ascii: "]") { return .array(items) }
            }
            return nil
        case UInt8(ascii: "\""):
            let start = i
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
            guard i <= b.count, let s = try? JSONDecoder().decode(String.self, from: Data(b[start..<i])) else {
                return nil
            }
            return .string(s)
        default:
            let start = i
            while i < b.count, !",]}".utf8.contains(b[i]) { i += 1 }
            return .raw(String(decoding: b[start..<i], as: UTF8.self))
        }
    }

    func written(_ rng: inout TestRandom) -> String {
        func space() -> String { ["", "", " ", "\n", "\t ", "\r\n"][rng.below(6)] }
        switch self {
        case .raw(let text): return text
        case .string(let s):
            var out = "\""
            for scalar in s.unicodeScalars {
                let v = scalar.value
                if v == 0x22 || v == 0x5C || v < 0x20 || rng.below(8) == 0 {
                    if v > 0xFFFF {
                        let hi = 0xD800 + ((v - 0x10000) >> 10)
                        let lo = 0xDC00 + ((v - 0x10000) & 0x3FF)
                        out += String(format: "\\u%04x\\u%04X", hi, lo)
                    } else {
                        out += String(format: "\\u%04x", v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        case .array(let items):
            return "[" + items.map { space() + $0.written(&rng) + space() }.joined(separator: ",") + "]"
        case .object(var members):
            for k in members.indices.reversed() {
                let j = rng.below(k + 1)
                members.swapAt(k, j)
            }
            if rng.below(3) == 0 { members.append(("unknown_\(rng.below(9))", .array([.raw("1"), .object([])]))) }
            return "{"
                + members.map {
                    space() + JSONTree.string($0.0).written(&rng) + space() + ":" + space() + $0.1.written(&rng)
                }
                .joined(separator: ",") + space() + "}"
        }
    }
}
