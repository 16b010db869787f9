import Testing

@testable import SlackDelivery

/// A transfer as the scheduler sees it in these tests: an id and the destination it goes to.
private struct Job: Identifiable, Sendable, Hashable {
    let id: Int
    let destination: Int
}

/// How the transport answers a sent job: after `after` nanoseconds, with a hold (a 429's
/// Retry-After) or without.
private struct Answer: Sendable {
    var after: UInt64 = 0
    var hold: UInt64?
    /// Never answered within the simulation (a slow request).
    var never = false
}

/// Drives a `DestinationScheduler` with an explicit clock, the way the engine does: events, then
/// `takeReady`, then sleep until the earliest answer or wake-up. No threads, no sleeps.
private struct SchedulerSimulation {
    var scheduler: DestinationScheduler<Job>
    private(set) var now: UInt64 = 0
    /// Jobs whose cancellation is cancelled.
    var withdrawn: Set<Int> = []
    /// How each job is answered; default: at once, delivered.
    var answers: [Int: Answer] = [:]
    private(set) var sent: [(job: Job, at: UInt64)] = []
    private(set) var handedBack: [(job: Job, reason: HandBackReason, at: UInt64)] = []
    private(set) var gatesOpened: [Job] = []
    /// `nextWakeUp` after every `takeReady`, with the time it was read.
    private(set) var wakeUps: [(at: UInt64, next: UInt64?)] = []
    private var pending: [(at: UInt64, job: Job)] = []
    private var nextId = 0

    init(limits: [RateLimit], maxInFlight: Int = 1_024, maxQueued: Int = 100, maxHoldNanos: UInt64 = 30 * s) {
        let policy = SchedulerPolicy(
            maxInFlight: maxInFlight, maxQueuedPerDestination: maxQueued,
            maxHoldNanos: maxHoldNanos)
        scheduler = DestinationScheduler(limits: limits, policy: policy, now: 0)
    }

    func sentIds(to d: Int) -> [Int] { sent.filter { $0.job.destination == d }.map(\.job.id) }
    func sentTimes(to d: Int) -> [UInt64] { sent.filter { $0.job.destination == d }.map(\.at) }

    /// Submits a new job to `d` now; returns it.
    @discardableResult
    mutating func submit(to d: Int, gated: Bool = false, answer: Answer? = nil) -> Job {
        let job = Job(id: nextId, destination: d)
        nextId += 1
        if let answer { answers[job.id] = answer }
        let w = withdrawn
        apply(scheduler.submit(job, to: d, gated: gated, now: now, isWithdrawn: { w.contains($0.id) }))
        return job
    }

    mutating func answerGate(_ job: Job, proceed: Bool) {
        let w = withdrawn
        apply(
            scheduler.gateAnswered(
                job.id, destination: job.destination, proceed: proceed, now: now,
                isWithdrawn: { w.contains($0.id) }))
    }

    mutating func sweep() {
        let w = withdrawn
        for job in scheduler.withdraw(where: { w.contains($0.id) }) { handedBack.append((job, .withdrawn, now)) }
    }

    mutating func stop() { apply(scheduler.stop()) }

    /// Runs events in time order up to `end` (inclusive), then sets the clock to `end`.
    mutating func run(until end: UInt64) {
        while true {
            let w = withdrawn
            apply(scheduler.takeReady(now: now, isWithdrawn: { w.contains($0.id) }))
            wakeUps.append((now, scheduler.nextWakeUp))
            if scheduler.hasWorkNow { continue }
            let nextAnswer = pending.map(\.at).min()
            guard let next = [nextAnswer, scheduler.nextWakeUp].compactMap({ $0 }).min(), next <= end else { break }
            now = max(now, next)
            // Answers due now, in the order they were sent.
            let due = pending.filter { $0.at <= now }
            pending.removeAll { $0.at <= now }
            for (_, job) in due {
                apply(scheduler.finished(destination: job.destination, holdFor: answers[job.id]?.hold, now: now))
            }
        }
        now = max(now, end)
    }

    private mutating func apply(_ actions: [SchedulerAction<Job>]) {
        for action in actions {
            switch action {
            case .send(let job):
                sent.append((job, now))
                let answer = answers[job.id] ?? Answer()
                if !answer.never { pending.append((now + answer.after, job)) }
            case .openGate(let job):
                gatesOpened.append(job)
            case .handBack(let job, let reason):
                handedBack.append((job, reason, now))
            }
        }
    }
}

/// One second in nanoseconds.
private let s: UInt64 = 1_000_000_000
/// One millisecond in nanoseconds.
private let ms: UInt64 = 1_000_000

@Suite("Destination scheduler: buckets, holds, wake-ups and queues on an explicit clock (pure)")
struct DestinationSchedulerTests {
    @Test(
        "a burst goes at once, then the steady rate",
        arguments: [
            (RateLimit(perSecond: 1, burst: 3), 6, [0, 0, 0, 1 * s, 2 * s, 3 * s]),
            (RateLimit(perSecond: 20, burst: 2), 5, [0, 0, 50 * ms, 100 * ms, 150 * ms]),
            (RateLimit(perSecond: 0.5, burst: 1), 3, [0, 2 * s, 4 * s]),
            (RateLimit(perSecond: 1, burst: 1), 1, [0]),
        ])
    func burstThenSteadyRate(limit: RateLimit, count: Int, expected: [UInt64]) {
        var sim = SchedulerSimulation(limits: [limit])
        for _ in 0..<count { sim.submit(to: 0) }
        sim.run(until: 60 * s)
        #expect(sim.sentTimes(to: 0) == expected)
        #expect(sim.sentIds(to: 0) == Array(0..<count))
        #expect(sim.handedBack.isEmpty)
    }

    @Test("a 429 holds only its destination until Retry-After, then one goes at once and the rest at the rate")
    func rateLimitedHoldsOnlyItsDestination() {
        var sim = SchedulerSimulation(limits: [.slackDefault, .slackDefault])
        sim.submit(to: 0, answer: Answer(hold: 5 * s))
        for _ in 0..<3 { sim.submit(to: 0) }
        for _ in 0..<5 { sim.submit(to: 1) }
        sim.run(until: 4_999 * ms)
        // During the hold: nothing more to 0, its queue kept (not handed back, not tried).
        #expect(sim.sentTimes(to: 0) == [0])
        #expect(sim.scheduler.queued(at: 0) == 3)
        #expect(sim.scheduler.heldUntil(0, now: sim.now) == 5 * s)
        #expect(sim.scheduler.heldUntil(1, now: sim.now) == nil)
        // The other destination kept its own burst and rate.
        #expect(sim.sentTimes(to: 1) == [0, 0, 0, 1 * s, 2 * s])
        sim.run(until: 60 * s)
        // The hold ate no token of the time after it: one at its end, then 1/s.
        #expect(sim.sentTimes(to: 0) == [0, 5 * s, 6 * s, 7 * s])
        #expect(sim.sentIds(to: 0) == [0, 1, 2, 3])
        #expect(sim.handedBack.isEmpty)
    }

    @Test("a hold longer than the hold limit hands the queue back, and refuses new work until it ends")
    func holdOverTheLimitHandsBack() {
        var sim = SchedulerSimulation(limits: [.slackDefault], maxHoldNanos: 2 * s)
        sim.submit(to: 0, answer: Answer(after: 10 * ms, hold: 60 * s))
        sim.submit(to: 0)
        sim.submit(to: 0)
        sim.run(until: 10 * ms)
        // The two queued behind the 429 (they were waiting for the busy destination) come back.
        #expect(sim.handedBack.map(\.job.id) == [1, 2])
        #expect(sim.handedBack.allSatisfy { $0.reason == .backlogged(notBefore: 60 * s + 10 * ms) })
        sim.run(until: 20 * s)
        sim.submit(to: 0)
        #expect(sim.handedBack.last?.reason == .backlogged(notBefore: 60 * s + 10 * ms))
        #expect(sim.sent.count == 1)
    }

    @Test("two destinations with different limits do not wait for each other, even behind a slow request")
    func destinationsAreIndependent() {
        var sim = SchedulerSimulation(limits: [RateLimit(perSecond: 1, burst: 1), RateLimit(perSecond: 10, burst: 1)])
        sim.submit(to: 0, answer: Answer(never: true))  // destination 0 stays busy
        sim.submit(to: 0)
        for _ in 0..<3 { sim.submit(to: 1) }
        sim.run(until: 10 * s)
        #expect(sim.sentTimes(to: 0) == [0])
        #expect(sim.sentTimes(to: 1) == [0, 100 * ms, 200 * ms])
        #expect(sim.scheduler.queued(at: 0) == 1)
    }

    @Test("a withdrawn transfer is never released and takes no token; the sweep hands it back at once")
    func withdrawnIsNeverReleased() {
        // At the head of the queue: handed back when its turn comes, the next one takes the token.
        var lazy = SchedulerSimulation(limits: [RateLimit(perSecond: 1, burst: 1)])
        let first = lazy.submit(to: 0)
        let second = lazy.submit(to: 0)
        let third = lazy.submit(to: 0)
        lazy.run(until: 500 * ms)  // the second waits for the token due at 1 s
        lazy.withdrawn.insert(second.id)
        lazy.run(until: 10 * s)
        #expect(lazy.sent.map(\.job) == [first, third])
        #expect(lazy.sentTimes(to: 0) == [0, 1 * s])
        #expect(lazy.handedBack.map(\.job) == [second])
        #expect(lazy.handedBack.first?.reason == .withdrawn)
        #expect(lazy.handedBack.first?.at == 1 * s)

        // Swept: handed back now, the queue keeps its order.
        var swept = SchedulerSimulation(limits: [RateLimit(perSecond: 1, burst: 1)])
        let jobs = (0..<4).map { _ in swept.submit(to: 0) }
        swept.withdrawn = [jobs[1].id, jobs[2].id]
        swept.sweep()
        #expect(swept.handedBack.map(\.job) == [jobs[1], jobs[2]])
        #expect(swept.scheduler.queued(at: 0) == 1)
        swept.run(until: 10 * s)
        #expect(swept.sent.map(\.job) == [jobs[0], jobs[3]])

        // Withdrawn before it arrives (handed back at once, even behind a busy head), or while
        // at its gate: never sent.
        var early = SchedulerSimulation(limits: [.slackDefault, .slackDefault])
        let busy = early.submit(to: 0, answer: Answer(never: true))
        early.submit(to: 0)  // queued behind it
        early.withdrawn = [2]
        early.submit(to: 0)
        #expect(early.handedBack.map(\.job.id) == [2])
        let gated = early.submit(to: 1, gated: true)
        early.withdrawn.insert(gated.id)
        early.answerGate(gated, proceed: true)
        early.run(until: 10 * s)
        #expect(early.sent.map(\.job) == [busy])
        #expect(early.handedBack.map(\.reason) == [.withdrawn, .withdrawn])
    }

    @Test(
        "wake-ups are exact: the next token, the end of a hold, nothing when nothing waits",
        arguments: [
            // (limit, jobs, hold of the first answer, the distinct wake-ups asked for, in order)
            (RateLimit(perSecond: 1, burst: 3), 4, UInt64?.none, [1 * s]),
            (RateLimit(perSecond: 4, burst: 1), 3, UInt64?.none, [250 * ms, 500 * ms]),
            (RateLimit(perSecond: 1, burst: 3), 3, UInt64?(2_500 * ms), [2_500 * ms, 3_500 * ms]),
            (RateLimit(perSecond: 1, burst: 3), 2, UInt64?(2_500 * ms), [2_500 * ms]),
            (RateLimit(perSecond: 1, burst: 3), 3, UInt64?.none, []),
        ])
    func wakeUpsAreExact(limit: RateLimit, jobs: Int, hold: UInt64?, expected: [UInt64]) {
        var sim = SchedulerSimulation(limits: [limit])
        sim.submit(to: 0, answer: Answer(hold: hold))
        for _ in 1..<jobs { sim.submit(to: 0) }
        sim.run(until: 60 * s)
        var distinct: [UInt64] = []
        for (_, next) in sim.wakeUps { if let next, distinct.last != next { distinct.append(next) } }
        #expect(distinct == expected)
        // Every wake-up asked for released something: none was early.
        #expect(Set(expected).isSubset(of: Set(sim.sent.map(\.at))))
        #expect(sim.scheduler.nextWakeUp == nil)
    }

    @Test("thousands of queued transfers keep FIFO per destination and a stable order across runs")
    func largeQueuesStayInOrder() {
        func run() -> SchedulerSimulation {
            var sim = SchedulerSimulation(
                limits: Array(repeating: RateLimit(perSecond: 1_000, burst: 10), count: 5),
                maxInFlight: 3, maxQueued: 10_000)
            for i in 0..<10_000 { sim.submit(to: (i * 7) % 5, answer: Answer(after: UInt64(i % 3) * ms)) }
            sim.run(until: 600 * s)
            return sim
        }
        let a = run()
        #expect(a.sent.count == 10_000)
        #expect(a.handedBack.isEmpty)
        for d in 0..<5 {
            let ids = a.sentIds(to: d)
            #expect(ids.count == 2_000)
            let inOrder = ids == ids.sorted()
            #expect(inOrder, "destination \(d) out of order")
        }
        let b = run()
        #expect(a.sent.map(\.job) == b.sent.map(\.job))
        #expect(a.sent.map(\.at) == b.sent.map(\.at))
    }

    @Test("a full queue hands new work back, not before the queue ahead could have gone")
    func fullQueueIsBacklogged() {
        var sim = SchedulerSimulation(limits: [RateLimit(perSecond: 2, burst: 1)], maxQueued: 3)
        sim.submit(to: 0, answer: Answer(never: true))  // sending
        for _ in 0..<3 { sim.submit(to: 0) }  // queued: 3
        sim.submit(to: 0)
        #expect(sim.handedBack.map(\.job.id) == [4])
        #expect(sim.handedBack.first?.reason == .backlogged(notBefore: 1_500 * ms))
    }

    @Test("room in flight is shared: destinations waiting for it are served first come, first served")
    func roomIsServedInOrder() {
        var sim = SchedulerSimulation(limits: Array(repeating: .slackDefault, count: 3), maxInFlight: 1)
        sim.submit(to: 2, answer: Answer(after: 10 * ms))
        sim.submit(to: 0, answer: Answer(after: 10 * ms))
        sim.submit(to: 1, answer: Answer(after: 10 * ms))
        sim.run(until: 1 * s)
        #expect(sim.sent.map(\.job.destination) == [2, 0, 1])
        #expect(sim.sent.map(\.at) == [0, 10 * ms, 20 * ms])
    }

    @Test("a gated transfer holds its destination until the gate answers, and is not counted in flight")
    func gateHoldsItsDestination() {
        var sim = SchedulerSimulation(limits: [.slackDefault, .slackDefault], maxInFlight: 1)
        let gated = sim.submit(to: 0, gated: true)
        let behind = sim.submit(to: 0)
        sim.submit(to: 1)
        sim.run(until: 5 * s)
        #expect(sim.gatesOpened == [gated])
        #expect(sim.sent.map(\.job.destination) == [1])  // room was free: the gate takes none
        sim.answerGate(gated, proceed: true)
        sim.run(until: 10 * s)
        #expect(sim.sent.map(\.job) == [Job(id: 2, destination: 1), gated, behind])
        // A gate that says no: handed back, the next one goes.
        var refused = SchedulerSimulation(limits: [.slackDefault])
        let first = refused.submit(to: 0, gated: true)
        let second = refused.submit(to: 0)
        refused.answerGate(first, proceed: false)
        refused.answerGate(first, proceed: true)  // a second answer is ignored
        refused.run(until: 1 * s)
        #expect(refused.handedBack.map(\.reason) == [.gateClosed])
        #expect(refused.sent.map(\.job) == [second])
    }

    @Test("stop hands back queued and gated transfers, lets those sending finish, and refuses new ones")
    func stopHandsBack() {
        var sim = SchedulerSimulation(limits: [RateLimit(perSecond: 1, burst: 1), .slackDefault])
        sim.submit(to: 0, answer: Answer(after: 50 * ms))
        let queued = sim.submit(to: 0)
        let gated = sim.submit(to: 1, gated: true)
        sim.run(until: 10 * ms)
        sim.stop()
        #expect(sim.handedBack.map(\.job) == [queued, gated])
        #expect(sim.handedBack.allSatisfy { $0.reason == .shuttingDown })
        sim.answerGate(gated, proceed: true)  // late: ignored
        sim.submit(to: 1)
        #expect(sim.handedBack.last?.reason == .shuttingDown)
        #expect(sim.scheduler.inFlight == 1)
        sim.run(until: 1 * s)
        #expect(sim.scheduler.inFlight == 0)
        #expect(sim.sent.count == 1)
        #expect(sim.scheduler.nextWakeUp == nil)
    }
}

@Suite("Clamped nanosecond arithmetic (pure)")
struct NanosecondsTests {
    @Test(
        "seconds convert without trapping",
        arguments: [
            (1.5, 1_500_000_000 as UInt64), (0, 0), (-3, 0), (Double.nan, 0),
            (Double.infinity, Nanoseconds.longest), (1e300, Nanoseconds.longest),
        ] as [(Double, UInt64)])
    func fromSeconds(seconds: Double, nanos: UInt64) {
        #expect(Nanoseconds.from(seconds: seconds) == nanos)
    }

    @Test func additionSaturates() {
        #expect(Nanoseconds.adding(1, 2) == 3)
        #expect(Nanoseconds.adding(.max - 1, 5) == .max)
    }
}
