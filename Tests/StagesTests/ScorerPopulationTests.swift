import Contracts
import HealthModel
import Kafka
import Logging
import Stages
import Synchronization
import TestSupport
import Testing
import WorkerRuntime

/// The live population (`ScorerPopulation`): each scorer partition counts its accounts' activity
/// into its part and publishes it; every scorer sums the parts it reads and judges them as one,
/// so the stage sees a holiday shared by the whole fleet as `fleet-admin replay` does.
@Suite struct ScorerPopulationTests {
    static let logger: Logger = {
        var l = Logger(label: "population-test")
        l.logLevel = .critical
        return l
    }()

    /// A labelled history with a shared two-day holiday, its accounts a population at 20.
    static func history() -> (LabelledHistory, ScoringConfig, [[UInt8]]) {
        var config = ScoringConfig()
        config.populationMinAccounts = 20
        let history = LabelledHistory(options: .init(seed: 3, accounts: 48, days: 56, warmUpDays: 30))
        var lines: [[UInt8]] = []
        for day in 0..<history.options.days { lines += history.lines(forDay: day) }
        return (history, config, lines)
    }

    static func record(_ line: [UInt8], partition: Int32) throws -> ConsumedRecord {
        let event = try EventParser().parse(line)
        return ConsumedRecord(
            topic: "account-events", partition: partition, offset: 0, key: Array(event.accountId.utf8), value: line,
            headers: [], timestamp: nil)
    }

    static func processor(_ config: ScoringConfig, table: PopulationTable = PopulationTable(logger: logger))
        -> ScorerProcessor
    {
        let processor = ScorerProcessor(scorer: HealthScorer(config: config), scoresTopic: "health-scores", live: false)
        processor.population = ScorerPopulation(
            table: table, follower: nil, minAccounts: config.populationMinAccounts, dipBelow: config.populationDipBelow)
        processor.populationTopic = "ingest-scorer-population"
        return processor
    }

    static func emitted(_ outcome: ProcessorHarness<ScorerProcessor>.Outcome) -> [OutgoingRecord] {
        if case .emitted(let records) = outcome { return records }
        Issue.record("an event was rejected: \(outcome)")
        return []
    }

    /// The replay's records, one JSON line each, sorted (the stage re-scores accounts in key order,
    /// the replay in the order they were first seen).
    static func replayed(_ lines: [[UInt8]], config: ScoringConfig) throws -> (lines: [String], replay: Replay) {
        var replay = Replay(scorer: HealthScorer(config: config))
        var out: [UInt8] = []
        var records: [ScoreRecord] = []
        for line in lines { line.withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } } }
        for record in records { try ScoreRecordWriter.appendLine(record, to: &out) }
        return (out.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }.sorted(), replay)
    }

    static func firstDifference(_ a: [String], _ b: [String]) -> String {
        guard let i = (0..<min(a.count, b.count)).first(where: { a[$0] != b[$0] }) else {
            return a.count == b.count ? "none" : "counts \(a.count) vs \(b.count)"
        }
        return "\(a.count) vs \(b.count) records; first difference at \(i):\n\(a[i])\nvs\n\(b[i])"
    }

    /// One partition holds the whole population: the stage's records are the replay's, byte for byte,
    /// and its population judged the same days as shared dips.
    @Test func onePartitionScoresExactlyAsTheReplay() async throws {
        try await CPULane.run {
            let (history, config, lines) = Self.history()
            let processor = Self.processor(config)
            let harness = ProcessorHarness(processor: processor)
            var now = history.endMs + 86_400_000
            var scores: [String] = []
            var published = 0
            for line in lines {
                now += 200  // the wall clock moves on as the records are read
                for output in Self.emitted(harness.process(try Self.record(line, partition: 0), now: now)) {
                    if output.topic == "health-scores" {
                        scores.append(String(decoding: output.value ?? [], as: UTF8.self))
                    } else {
                        #expect(output.topic == "ingest-scorer-population" && output.key == Array("0".utf8))
                        published += 1
                    }
                }
            }
            let (expected, replay) = try Self.replayed(lines, config: config)
            #expect(expected.count > 100)
            scores.sort()
            #expect(scores == expected, "\(Self.firstDifference(scores, expected))")
            #expect(!history.sharedHolidayDays.isEmpty)
            #expect(Set(replay.population!.dips.keys).isSuperset(of: history.sharedHolidayDays))
            #expect(processor.population!.view(now: now).dips == replay.population!.dips)
            // The population changes this history's records: without it they differ.
            var alone = config
            alone.populationMinAccounts = 0
            #expect(try Self.replayed(lines, config: alone).lines != expected)
            // About one publication per re-scoring time reached (hourly over 56 days).
            #expect(published > 56 * 20, "\(published) publications")
        }
    }

    /// Two scorers, one partition each, the accounts split between them: each reads the other's
    /// part from what it publishes (as from the population topic), waits at each re-scoring time for
    /// the other to reach it, and so judges the shared holiday as the replay of all accounts does:
    /// with their events interleaved in the history's order, and with scorer 0 a day ahead (each
    /// day's events of its accounts before scorer 1 sees the day's first). A day is judged only once
    /// both have sealed it, however far apart they are; their records are the replay's when each
    /// re-scoring may wait as long as the other is behind (with the default hour's wait, scorer 0
    /// re-scores before scorer 1's day is in: the difference a day's lag makes).
    @Test(arguments: [(true, 1), (false, 1), (false, 48)])
    func twoScorersSeeTheFleetsHolidayAsOneReplayDoes(interleaved: Bool, maxWaitHours: Int64) async throws {
        try await CPULane.run {
            let (history, config, lines) = Self.history()
            func partition(_ line: [UInt8]) throws -> Int {
                Int(try EventParser().parse(line).accountId.utf8.reduce(0) { $0 &+ Int($1) } % 2)
            }
            var order: [[UInt8]] = []
            if interleaved {
                order = lines
            } else {
                for day in 0..<history.options.days {
                    let batch = history.lines(forDay: day)
                    order += try batch.filter { try partition($0) == 0 } + batch.filter { try partition($0) == 1 }
                }
            }
            let tables = [PopulationTable(logger: Self.logger), PopulationTable(logger: Self.logger)]
            let processors = [Self.processor(config, table: tables[0]), Self.processor(config, table: tables[1])]
            for processor in processors {
                processor.population = ScorerPopulation(
                    table: processor.population!.table, follower: nil, minAccounts: config.populationMinAccounts,
                    dipBelow: config.populationDipBelow, maxWaitMilliseconds: maxWaitHours * 3_600_000)
            }
            let harnesses = [
                ProcessorHarness(processor: processors[0], partition: 0),
                ProcessorHarness(processor: processors[1], partition: 1),
            ]
            var now = history.endMs + 86_400_000
            var scores: [String] = []
            var offsets: [Int64] = [0, 0]
            func take(_ outputs: [OutgoingRecord], from p: Int) {
                for output in outputs {
                    if output.topic == "health-scores" {
                        scores.append(String(decoding: output.value ?? [], as: UTF8.self))
                        continue
                    }
                    // The other scorer reads it from the topic.
                    offsets[p] += 1
                    tables[1 - p].receive(
                        ConsumedRecord(
                            topic: output.topic, partition: 0, offset: offsets[p], key: output.key, value: output.value,
                            headers: [], timestamp: nil))
                }
            }
            for line in order {
                now += 200  // the wall clock moves on as the records are read
                let p = try partition(line)
                take(Self.emitted(harnesses[p].process(try Self.record(line, partition: Int32(p)), now: now)), from: p)
                // The timers of both (a held re-scoring goes on once the other has reached its time).
                for q in 0..<2 { take(harnesses[q].tick(now: now), from: q) }
            }
            let (expected, replay) = try Self.replayed(lines, config: config)
            // The same days are shared dips. Their shares differ a little: a replay stops counting a
            // day at the first event of a later day in the whole history, each scorer at the first in
            // its own partitions (this history's days come account by account, not in time order).
            let replayDips = replay.population!.dips
            for p in 0..<2 {
                let dips = processors[p].population!.view(now: now).dips.filter {
                    $0.key <= replay.population!.sealedThrough
                }
                #expect(
                    dips.keys.sorted() == replayDips.keys.sorted()
                        && dips.allSatisfy { abs($0.value - replayDips[$0.key]!) < 0.02 },
                    "scorer \(p): dips \(dips.sorted { $0.key < $1.key }) vs the replay's \(replayDips.sorted { $0.key < $1.key })"
                )
            }
            #expect(Set(replayDips.keys).isSuperset(of: history.sharedHolidayDays))
            // What alerts are made of: each account's zones in order (repeats dropped) are the replay's.
            func zones(_ lines: [String]) throws -> [String: [Zone]] {
                var out: [String: [(Timestamp, Int, Zone)]] = [:]
                for line in lines {
                    let r = try ScoreRecordDecoder.decode(Array(line.utf8))
                    out[r.accountId, default: []].append((r.validAt, r.sequence ?? 0, r.zone))
                }
                return out.mapValues { records in
                    records.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2).reduce(into: [Zone]()) {
                        if $0.last != $1 { $0.append($1) }
                    }
                }
            }
            let zonesNow = try zones(scores)
            let zonesThen = try zones(expected)
            let differing = zonesNow.keys.filter { zonesNow[$0] != zonesThen[$0] }.sorted()
            #expect(differing.isEmpty, "\(differing.map { "\($0): \(zonesNow[$0]!) vs \(zonesThen[$0] ?? [])" })")
            guard interleaved else { return }
            // Every record says what the replay's says: the same account, time, zone and signals, and a
            // score within a point (the shares above move a baseline by a fraction).
            func verdicts(_ lines: [String]) throws -> [String] {
                try lines.map { line in
                    let r = try ScoreRecordDecoder.decode(Array(line.utf8))
                    return "\(r.accountId) \(r.validAt) \(r.zone) \(r.signals.map(\.code))"
                }.sorted()
            }
            func scoreOf(_ lines: [String]) throws -> [String: Int] {
                var out: [String: Int] = [:]
                for line in lines {
                    let r = try ScoreRecordDecoder.decode(Array(line.utf8))
                    out["\(r.accountId) \(r.validAt)"] = r.score
                }
                return out
            }
            scores.sort()
            let (mine, theirs) = (try verdicts(scores), try verdicts(expected))
            #expect(mine == theirs, "\(Self.firstDifference(mine, theirs))")
            let (a, b) = (try scoreOf(scores), try scoreOf(expected))
            #expect(a.keys == b.keys && a.allSatisfy { abs($0.value - b[$0.key]!) <= 1 })
            let exact = Set(scores).intersection(expected).count
            #expect(exact * 10 >= expected.count * 9, "\(exact) of \(expected.count) records byte-identical")
        }
    }

    /// The table trusts no record of the topic: a key that is not a partition number and bytes no
    /// scorer wrote are left out and counted; a record without a value removes its part; a part not
    /// read again within the dead time is no longer live.
    @Test func theTableLeavesOutWhatIsNotAPartAndForgetsPartsNotReadAgain() throws {
        let clock = Mutex<Int64>(1_800_000_000_000)
        let table = PopulationTable(logger: Self.logger, clock: WallClock { clock.withLock { $0 } })
        func record(_ key: String?, _ value: [UInt8]?) -> ConsumedRecord {
            ConsumedRecord(
                topic: "ingest-scorer-population", partition: 0, offset: 0, key: key.map { Array($0.utf8) },
                value: value, headers: [], timestamp: nil)
        }
        var part = PopulationPart()
        part.reachedMilliseconds = 1_799_999_000_000
        table.receive(record("3", part.encoded()))
        table.receive(record("acme", part.encoded()))
        table.receive(record("-1", part.encoded()))
        table.receive(record(nil, part.encoded()))
        table.receive(record("4", [1, 2, 3, 4]))
        table.receive(record("5", Array("{\"json\":1}".utf8)))
        #expect(table.rejected == 5)
        #expect(table.part(of: 3) == part && table.part(of: 4) == nil && table.part(of: 5) == nil)
        let now = clock.withLock { $0 }
        #expect(table.snapshot(now: now, maxAge: 300_000).parts.keys.sorted() == [3])
        #expect(table.snapshot(now: now + 300_001, maxAge: 300_000).parts.isEmpty, "not read again: no longer live")
        table.receive(record("3", nil))
        #expect(table.part(of: 3) == nil)
    }

    /// A partition that has seen no event (its part empty) holds no one: the other parts' sealed
    /// days are judged; a partition with counts but no later day yet is waited for.
    @Test func anEmptyPartHoldsNoOneAPartWithCountsIsWaitedFor() throws {
        let now: Int64 = 1_800_000_000_000
        let table = PopulationTable(logger: Self.logger, clock: WallClock { now })
        let population = ScorerPopulation(table: table, follower: nil, minAccounts: 1, dipBelow: 0.8)
        let day0: Int64 = 20_400  // a Thursday
        var busy = PopulationPart()
        for d in 0..<36 {
            let day = day0 + Int64(d)
            if day - 1 > busy.sealedThrough { busy.seal(through: day - 1) }
            // 10 accounts a day, one event each; the last day (35) a holiday: one account.
            for a in 0..<(d == 35 ? 1 : 10) {
                let event = AccountEvent(
                    eventId: "e\(d)-\(a)", accountId: "a\(a)", type: .login,
                    occurredAt: Timestamp.startOfDay(day).adding(seconds: 3600 * 10), userId: nil)
                busy.count(applied: event, activeBefore: Int32(day) - 1, activeAfter: Int32(day))
            }
        }
        busy.seal(through: day0 + 35)
        busy.reachedMilliseconds = (day0 + 36) * 86_400_000
        table.receive(
            ConsumedRecord(
                topic: "p", partition: 0, offset: 0, key: Array("1".utf8), value: busy.encoded(), headers: [],
                timestamp: nil))
        population.adopt(0, part: PopulationPart(), now: now)
        #expect(population.view(now: now).dip(on: day0 + 35) == 0.1, "the empty own part held the judgement")
        // A part with counts of the holiday's day and no later day yet: the day waits for it.
        let waiting = ScorerPopulation(table: table, follower: nil, minAccounts: 1, dipBelow: 0.8)
        var late = PopulationPart()
        late.count(
            applied: AccountEvent(
                eventId: "x", accountId: "b", type: .login, occurredAt: Timestamp.startOfDay(day0 + 35), userId: nil),
            activeBefore: .min, activeAfter: Int32(day0 + 35))
        waiting.adopt(0, part: late, now: now)
        #expect(waiting.view(now: now).dip(on: day0 + 35) == nil, "judged before a part with its counts sealed it")
    }
}
