import Contracts
import TestSupport
import Testing

@testable import HealthModel

@Suite struct ReplayTests {
    @Test func replayTwiceGivesByteIdenticalOutput() throws {
        let input = Array(Fixtures.sampleBytes.prefix(2_000_000))
        let first = try Replay.run(input)
        let second = try Replay.run(input)
        #expect(first.output.count > 10_000)
        #expect(first.output == second.output)
        #expect(first.summary == second.summary)
        let lines = first.output.split(separator: 0x0A)
        #expect(lines.count == first.summary.records)
        let decoded = try RecordCoding.decode(ScoreRecord.self, from: lines[0])
        #expect(try RecordCoding.encode(decoded) == Array(lines[0]), "records are RecordCoding JSON")
    }

    @Test func skippingTheEvaluationOfQuietActivityIsExact() async throws {
        try await CPULane.run {
            var thorough = HealthScorer()
            thorough.alwaysEvaluate = true
            let input = Fixtures.sampleBytes
            let fast = try Replay.run(input)
            let slow = try Replay.run(input, scorer: thorough)
            #expect(fast.summary.records > 150)
            #expect(fast.output == slow.output)
        }
    }

    /// The skips (quiet activity; an idle account whose silence costs the same as at its last
    /// evaluation) against evaluating at every event and every hour, on labelled histories with a
    /// shared holiday (the population's dips and its share of today), tracking outages and every
    /// story, under settings that move the silence's thresholds.
    @Test(arguments: ["default", "at once", "short trend", "every 2 hours", "no population"])
    func skippingEvaluationsIsExactOnLabelledHistories(name: String) async throws {
        try await CPULane.run {
            var config = ScoringConfig()
            config.populationMinAccounts = 20  // the history's 48 accounts are a population
            switch name {
            case "at once": config.inactivityAtOnceExpected = 2
            case "short trend": config.inactivityTrendDays = 0.5
            case "every 2 hours": config.rescoreEveryHours = 2
            case "no population": config.populationMinAccounts = 0
            default: break
            }
            let history = LabelledHistory(options: .init(seed: 3, accounts: 48, days: 56, warmUpDays: 30))
            var input: [UInt8] = []
            for day in 0..<history.options.days {
                for line in history.lines(forDay: day) { input += line + [0x0A] }
            }
            var thorough = HealthScorer(config: config)
            thorough.alwaysEvaluate = true
            let fast = try Replay.run(input, scorer: HealthScorer(config: config))
            let slow = try Replay.run(input, scorer: thorough)
            #expect(fast.summary.records > 100, "\(name): \(fast.summary.records) records")
            let fastLines = fast.output.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            let slowLines = slow.output.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            let firstDifference = (0..<min(fastLines.count, slowLines.count)).first { fastLines[$0] != slowLines[$0] }
            #expect(
                fastLines.count == slowLines.count && firstDifference == nil,
                """
                \(name): the skips changed the records (\(fastLines.count) vs \(slowLines.count) records); first difference \
                at \(firstDifference.map(String.init) ?? "the end"):
                \(firstDifference.map { fastLines[$0] + "\nvs\n" + slowLines[$0] } ?? "")
                """)
        }
    }

    @Test func aLargerScoreStepEmitsFewerRecords() async throws {
        try await CPULane.run {
            var config = ScoringConfig()
            config.scoreStep = 5
            let input = Fixtures.sampleBytes
            let coarse = try Replay.run(input, scorer: HealthScorer(config: config))
            let fine = Fixtures.replayed.records.count
            #expect(coarse.summary.records < fine)
            #expect(coarse.summary.records > 0)
        }
    }

    @Test func summaryCountsEventsRejectionsAccountsZonesAndRecords() throws {
        var input = Array(
            #"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z","user_id":"u"}"#
                .utf8)
        input += Array("\n\nnot json\n".utf8)
        input += Array(#"{"event_id":"e2","account_id":"b","type":"login","occurred_at":"later"}"#.utf8) + [0x0A]
        input +=
            Array(
                #"{"event_id":"e3","account_id":"b","type":"payment_failed","occurred_at":"2026-11-20T11:00:00Z"}"#.utf8
            ) + [0x0A]
        input +=
            Array(
                #"{"event_id":"e1","account_id":"a","type":"login","occurred_at":"2026-11-20T10:00:00Z","user_id":"u"}"#
                    .utf8) + [0x0A]
        input += Array(
            #"{"event_id":"e4","account_id":"a","type":"login","occurred_at":"2026-11-22T10:00:00Z","user_id":"u"}"#
                .utf8)
        let (output, s) = try Replay.run(input, allowedLatenessMs: 0)
        #expect(s.events == 6)
        #expect(s.applied == 3)
        #expect(s.duplicates == 1)
        #expect(s.rejected == ["invalid JSON: not a JSON document": 1, "occurred_at: not RFC 3339": 1])
        #expect(s.accounts == 2)
        #expect(s.zones == [.healthy: 2])
        #expect(s.records == output.split(separator: 0x0A).count)
        #expect(s.lines.contains("  occurred_at: not RFC 3339: 1"))
        #expect(s.lines.contains("zones: healthy 2, at_risk 0, critical 0"))
    }

    @Test func theWatermarkReScoresIdleAccountsOnEachHour() async throws {
        try await CPULane.run {
            let replay = Fixtures.replayed.replay
            let silent = try #require(Fixtures.generator.stories.silent)
            let state = try #require(replay.state(of: silent))
            let lastDay = Fixtures.day(Fixtures.sampleOptions.days - 1)
            let validAt = try #require(state.validAt)
            #expect(
                validAt >= lastDay && validAt.millisecondsSinceEpoch % 3_600_000 == 0,
                "advanced to the last hour the watermark passed, with no events of its own: \(validAt)")
            #expect(validAt.millisecondsSinceEpoch > lastDay.millisecondsSinceEpoch, "hourly, past the last midnight")
            // The same history re-scored daily stops at the last midnight.
            var config = ScoringConfig()
            config.rescoreEveryHours = 24
            var daily = Replay(scorer: HealthScorer(config: config))
            for line in Fixtures.generator.allLines() {
                line.withUnsafeBufferPointer { daily.process(line: $0) { _ in } }
            }
            #expect(daily.state(of: silent)?.validAt == lastDay, "daily: advanced to the last midnight")
        }
    }

    @Test func sampleIsDeterministicAndSeedDependent() {
        let a = SampleGenerator(options: .init(seed: 9, accounts: 12, days: 3)).allLines()
        let b = SampleGenerator(options: .init(seed: 9, accounts: 12, days: 3)).allLines()
        let c = SampleGenerator(options: .init(seed: 10, accounts: 12, days: 3)).allLines()
        #expect(a == b)
        #expect(a != c)
        let parser = EventParser()
        #expect(a.allSatisfy { (try? parser.parse($0)) != nil }, "every sample line is a valid event")
    }
}
