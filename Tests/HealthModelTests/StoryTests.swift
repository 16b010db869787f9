import Contracts
import TestSupport
import Testing

@testable import HealthModel

/// The sample's stories, replayed through the model as `fleet-admin replay` does.
@Suite struct StoryTests {
    let stories = Fixtures.generator.stories

    func codes(_ r: ScoreRecord) -> [String] { r.signals.map(\.code) }

    @Test func steadyEnterpriseThatCollapsesGoesCriticalWithThoseSignalsOnTop() throws {
        let records = Fixtures.records(of: try #require(stories.collapse))
        let before = records.filter { $0.validAt < Fixtures.day(stories.startDay) }
        #expect(!before.isEmpty && before.suffix(5).allSatisfy { $0.zone == .healthy }, "healthy before the collapse")
        let critical = try #require(records.first { $0.zone == .critical }, "goes critical")
        // Dark from the story day + 2 (after a day at half and a day at a tenth): at risk within 3 days
        // of going dark (measured: the day after), critical within 4.
        let collapse = try #require(stories.collapse)
        let dark = try #require(stories.darkFrom(collapse, start: Fixtures.sampleOptions.start))
        let atRisk = try #require(records.first { $0.zone != .healthy && $0.validAt >= Fixtures.day(stories.startDay) })
        #expect(atRisk.validAt <= dark.adding(days: 3), "at risk within 3 days of going dark: \(atRisk.validAt)")
        #expect(critical.validAt <= dark.adding(days: 4), "critical within days, not weeks: \(critical.validAt)")
        let worst = try #require(records.min { $0.score < $1.score })
        #expect(worst.score < 40)
        let top = Set(codes(worst).prefix(5))
        #expect(top.contains(SignalCode.paymentFailures), "\(codes(worst))")
        #expect(top.contains(SignalCode.ticketSpike), "\(codes(worst))")
        #expect(top.contains(SignalCode.usageDown) || top.contains(SignalCode.loginsDown), "\(codes(worst))")
        let usage = try #require(
            worst.signals.first { $0.code == SignalCode.usageDown || $0.code == SignalCode.loginsDown })
        #expect(usage.value! < -0.5, "a drop of more than half: \(usage.text)")
        #expect(usage.text.contains("vs 28-day baseline"))
        let payments = try #require(worst.signals.first { $0.code == SignalCode.paymentFailures })
        #expect(payments.text == "2 failed payments in 7 days")
        #expect(worst.signals == worst.signals.sorted { $0.impact < $1.impact }, "ranked by impact")
        // The failed payments were triggers with their payment ids.
        let triggers = records.flatMap(\.triggers).filter { $0.type == .paymentFailed }
        #expect(triggers.count == 2)
        #expect(triggers.allSatisfy { $0.ref?.hasPrefix("P-") == true && $0.amount == 20000 && $0.currency == "USD" })
        #expect(records.filter { !$0.triggers.isEmpty }.allSatisfy { $0.reasons.contains(.businessEvent) })
    }

    @Test func ordinaryAccountsStayHealthyThroughNoiseWeekendsAndHolidays() throws {
        #expect(!Fixtures.generator.holidays.isEmpty, "the sample has holidays")
        let ordinary = Fixtures.generator.ordinaryAccounts
        #expect(ordinary.count == Fixtures.sampleOptions.accounts - 6)
        var lowest = 100
        for id in ordinary {
            for r in Fixtures.records(of: id) {
                lowest = min(lowest, r.score)
                #expect(r.zone == .healthy, "\(id) left healthy at \(r.validAt): \(r.score) \(r.signals.map(\.text))")
            }
        }
        #expect(lowest < 100, "ordinary accounts do move a little")
    }

    @Test func anEnterpriseAccountThatGoesDarkIsAtRiskWithinThreeDays() async throws {
        try await CPULane.run {
            let options = SampleGenerator.Options(seed: 42, accounts: 40, days: 60, silentTier: .enterprise)
            let generator = SampleGenerator(options: options)
            var replay = Replay()
            var records: [ScoreRecord] = []
            for line in generator.allLines() {
                line.withUnsafeBufferPointer { replay.process(line: $0) { records.append($0) } }
            }
            let silent = try #require(generator.stories.silent)
            let dark = try #require(generator.stories.darkFrom(silent, start: options.start))
            let mine = records.filter { $0.accountId == silent }
            #expect(mine.last?.profile.tier == .enterprise)
            #expect(mine.filter { $0.validAt < dark }.allSatisfy { $0.zone == .healthy }, "healthy before")
            let atRisk = try #require(mine.first { $0.zone != .healthy }, "goes at risk")
            #expect(
                atRisk.validAt <= dark.adding(days: 3), "within 3 days of going dark (measured: 2): \(atRisk.validAt)")
            #expect(atRisk.signals.contains { $0.code == SignalCode.loginsDown || $0.code == SignalCode.usageDown })
            let ordinary = Set(generator.ordinaryAccounts)
            let strays = records.filter { ordinary.contains($0.accountId) && $0.zone != .healthy }
            #expect(
                strays.isEmpty,
                "ordinary accounts stay healthy: \(strays.map { "\($0.accountId) \($0.validAt) \($0.score)" })")
        }
    }

    @Test func ordinaryAccountsShowNoUsageGrowthSpikes() {
        let ordinary = Set(Fixtures.generator.ordinaryAccounts)
        let spikes = Fixtures.replayed.records.filter { r in
            ordinary.contains(r.accountId)
                && r.positiveSignals.contains { $0.code == SignalCode.usageGrowth && ($0.value ?? 0) >= 0.5 }
        }
        #expect(
            spikes.isEmpty,
            "usage growth of 50% on ordinary accounts: \(spikes.map { "\($0.accountId) \($0.validAt)" })")
    }

    @Test func seatsAndUsageGrowthShowAnExpansionSignal() throws {
        let records = Fixtures.records(of: try #require(stories.expansion))
        let seats = try #require(records.lazy.flatMap(\.positiveSignals).last { $0.code == SignalCode.seatsGrowth })
        #expect(seats.value == 0.5, "\(seats.text)")
        #expect(seats.text.hasPrefix("Seats +50% in 14 days"))
        #expect(seats.impact > 0)
        let usage = try #require(records.lazy.flatMap(\.positiveSignals).first { $0.code == SignalCode.usageGrowth })
        #expect(usage.value! >= 0.3, "\(usage.text)")
        let seatTriggers = records.flatMap(\.triggers).filter { $0.type == .seatsChanged }
        #expect(seatTriggers.count == 3, "initial seats and two changes")
        #expect(seatTriggers.last!.seatsAfter! > seatTriggers.last!.seatsBefore!)
        #expect(records.allSatisfy { $0.zone == .healthy })
    }

    @Test func aSilentAccountDecaysHourByHour() throws {
        let records = Fixtures.records(of: try #require(stories.silent)).filter {
            $0.validAt > Fixtures.day(stories.startDay)
        }
        #expect(records.count >= 3)
        #expect(
            records.dropFirst().allSatisfy { $0.validAt.millisecondsSinceEpoch % 3_600_000 == 0 },
            "re-scored by the watermark on the hour (the default emit.rescore_every_hours: 1)")
        #expect(
            records.contains { $0.validAt.millisecondsSinceEpoch % Timestamp.millisecondsPerDay != 0 },
            "some within the day, not only at midnights")
        #expect(
            records.dropFirst().allSatisfy { $0.eventIds.isEmpty },
            "with no events (the first still names the last events before the silence)")
        for (a, b) in zip(records, records.dropFirst()) {
            #expect(b.score <= a.score, "no recovery while silent: \(a.score) -> \(b.score)")
        }
        let last = try #require(records.last)
        #expect(last.zone != .healthy)
        #expect(Set(codes(last)).isSuperset(of: [SignalCode.loginsDown, SignalCode.usageDown]))
        #expect(codes(last).contains(SignalCode.inactivity))
    }

    @Test func aRepublishedTicketCountsOnce() throws {
        let id = try #require(stories.republished)
        #expect(Fixtures.replayed.replay.summary.duplicates == 1)
        let eventId = try #require(stories.republishedEventId)
        let copies = Fixtures.generator.allLines().filter {
            String(decoding: $0, as: UTF8.self).contains("\"event_id\":\"\(eventId)\"")
        }
        #expect(copies.count == 2, "the sample publishes it twice")
        let state = try #require(Fixtures.replayed.replay.state(of: id))
        let storyDay = Int32(Fixtures.day(stories.startDay).epochDay)
        #expect(state.rare.filter { $0.kind == .ticketOpened && $0.day == storyDay }.count == 1)
        #expect(Fixtures.records(of: id).flatMap(\.eventIds).filter { $0 == eventId }.count <= 1)
    }

    @Test func failedBillingRetryIsATriggerWithItsInvoice() throws {
        let records = Fixtures.records(of: try #require(stories.billingRetry))
        let record = try #require(records.first { $0.triggers.contains { $0.type == .billingRetryFailed } })
        let trigger = record.triggers[0]
        #expect(trigger.ref == "P-\(stories.billingRetry!)-\(stories.startDay)")
        #expect(record.signals.first?.code == SignalCode.billingRetryFailed)
        #expect(record.reasons.contains(.businessEvent))
        #expect(record.eventIds.contains(trigger.eventId))
    }

    @Test func cancellationIsScheduledAndCapsTheScore() throws {
        let records = Fixtures.records(of: try #require(stories.cancellation))
        let champion = try #require(records.first { $0.triggers.contains { $0.type == .championLeft } })
        #expect(champion.signals.contains { $0.code == SignalCode.championLeft })
        let cancelled = try #require(records.first { $0.triggers.contains { $0.type == .subscriptionCancelled } })
        #expect(cancelled.cancellationScheduled)
        #expect(cancelled.score <= ScoringConfig().cancellationScoreCap)
        #expect(cancelled.signals.first?.code == SignalCode.cancellationScheduled)
        #expect(records.last!.cancellationScheduled)
    }

    @Test func everyRecordIsConsistent() {
        let config = ScoringConfig()
        var previous: [String: ScoreRecord] = [:]
        for r in Fixtures.replayed.records {
            #expect((0...100).contains(r.score))
            #expect(r.zone == config.zone(of: r.score))
            #expect(r.eventIds.count <= config.maxEventIds)
            #expect(r.signals.count <= config.maxSignals && r.positiveSignals.count <= config.maxSignals)
            #expect(r.signals.allSatisfy { $0.impact < 0 } && r.positiveSignals.allSatisfy { $0.impact > 0 })
            if let p = previous[r.accountId] {
                #expect(r.previousScore == p.score && r.delta == r.score - p.score && r.previousZone == p.zone)
                #expect(r.validAt >= p.validAt)
                #expect(!r.reasons.isEmpty && !r.reasons.contains(.first))
            } else {
                #expect(r.reasons == [.first] || r.reasons == [.first, .businessEvent])
                #expect(r.previousScore == nil && r.delta == 0)
            }
            previous[r.accountId] = r
        }
    }
}
