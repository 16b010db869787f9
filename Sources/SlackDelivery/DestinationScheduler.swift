import DequeModule
import HeapModule

/// Decides, per destination, when each queued transfer may start; knows nothing of HTTP.
///
/// Every destination has a token bucket (its rate limit), a hold after a 429 (until Retry-After),
/// a FIFO queue, and at most one transfer past its queue (at its gate or sending), so messages to
/// one channel keep their order. Over all destinations at most `policy.maxInFlight` transfers
/// send at once; destinations that wait for room are served first come, first served. Waiting
/// destinations sit on one `Heap` of wake-ups.
///
/// Pure and I/O-free: time comes in as monotonic nanoseconds, whether a transfer was withdrawn is
/// asked of the caller, and every answer is a list of `SchedulerAction`s for the transport to carry
/// out. Events (`submit`, `gateAnswered`, `finished`, `withdraw`, `stop`) may answer at once;
/// `takeReady(now:)` answers what may start now, and `nextWakeUp` when to ask again.
///
/// ```swift
/// var scheduler = DestinationScheduler<Job>(limits: [.slackDefault], policy: policy, now: t)
/// for action in scheduler.submit(job, to: 0, gated: false, now: t, isWithdrawn: { _ in false }) {
///     // .send(job): start it; later report its answer:
/// }
/// _ = scheduler.finished(destination: 0, holdFor: retryAfter429, now: t2) // nil unless a 429
/// let actions = scheduler.takeReady(now: t3, isWithdrawn: { _ in false })
/// let sleepUntil = scheduler.nextWakeUp // nil: nothing waits on time
/// ```
struct DestinationScheduler<Item: Sendable & Identifiable>: Sendable {
    typealias Action = SchedulerAction<Item>

    let policy: SchedulerPolicy
    private var lanes: [DestinationLane<Item>]
    private var wakeUps = Heap<DestinationWakeUp>()
    private var nextSequence: UInt64 = 0
    /// Lanes an event left to look at on the next `takeReady`, in the order they were touched.
    private var touched: [Int] = []
    /// Lanes whose head waits for room among the transfers in flight, first come first served.
    private var waitingForRoom = Deque<Int>()
    /// Transfers sending now (gated ones waiting for their gate are not counted).
    private(set) var inFlight = 0
    /// After `stop`, every new transfer is handed back as `shuttingDown`.
    private(set) var isStopped = false

    /// One lane per rate limit, in order: destination `i` has `limits[i]`. Buckets start full.
    init(limits: [RateLimit], policy: SchedulerPolicy, now: UInt64) {
        self.policy = policy
        self.lanes = limits.map { DestinationLane(limit: $0, now: now) }
    }

    // MARK: - Questions

    /// The number of destinations.
    var destinationCount: Int { lanes.count }

    /// Transfers queued for destination `d` (not counting one at its gate or sending).
    func queued(at d: Int) -> Int { lanes[d].queue.count }

    /// Until when destination `d` is held after a 429 (nil: not held at `now`).
    func heldUntil(_ d: Int, now: UInt64) -> UInt64? {
        lanes[d].heldUntil > now ? lanes[d].heldUntil : nil
    }

    /// The monotonic time at which `takeReady` next has something to do because of time alone (a
    /// token refilled, a hold over); nil if nothing waits on time. Exact after `takeReady`.
    var nextWakeUp: UInt64? { wakeUps.min?.at }

    /// Whether an event left work that `takeReady` should do now, without waiting.
    var hasWorkNow: Bool { !touched.isEmpty }

    // MARK: - Events

    /// A transfer for destination `d` arrives. Answers at once: handed back (stopping, withdrawn,
    /// queue full, destination held past the hold limit), or queued and, if its turn has come,
    /// `send` or `openGate` (a gated transfer asks its gate before it starts).
    mutating func submit(
        _ item: Item, to d: Int, gated: Bool, now: UInt64,
        isWithdrawn: (Item) -> Bool
    ) -> [Action] {
        if isStopped { return [.handBack(item, .shuttingDown)] }
        if isWithdrawn(item) { return [.handBack(item, .withdrawn)] }
        let heldUntil = lanes[d].heldUntil
        if heldUntil > now && heldUntil - now > policy.maxHoldNanos {
            return [.handBack(item, .backlogged(notBefore: heldUntil))]
        }
        let queued = lanes[d].queue.count
        if queued >= policy.maxQueuedPerDestination {
            // As long as the queue ahead needs at the steady rate, from the end of a hold.
            let wait = Nanoseconds.from(seconds: Double(queued) / lanes[d].bucket.limit.perSecond)
            return [.handBack(item, .backlogged(notBefore: Nanoseconds.adding(max(now, heldUntil), wait)))]
        }
        lanes[d].queue.append(.init(item: item, gated: gated))
        var out: [Action] = []
        pump(d, now: now, isWithdrawn: isWithdrawn, into: &out)
        return out
    }

    /// The gate of transfer `id` (at destination `d`'s turn) answered. `send` if it may proceed;
    /// else handed back (`withdrawn` meanwhile, or `gateClosed`) and the destination's next
    /// transfer considered at once. An answer for a transfer no longer at its gate (after `stop`,
    /// or a second answer) is ignored: `[]`.
    mutating func gateAnswered(
        _ id: Item.ID, destination d: Int, proceed: Bool, now: UInt64,
        isWithdrawn: (Item) -> Bool
    ) -> [Action] {
        guard case .atGate(let item) = lanes[d].turn, item.id == id else { return [] }
        let withdrawn = isWithdrawn(item)
        if !withdrawn && proceed {
            lanes[d].turn = .sending
            inFlight += 1
            return [.send(item)]
        }
        lanes[d].turn = .idle
        var out: [Action] = [.handBack(item, withdrawn ? .withdrawn : .gateClosed)]
        pump(d, now: now, isWithdrawn: isWithdrawn, into: &out)
        return out
    }

    /// Destination `d`'s transfer is over (answered, failed, or could not start). `holdFor`: a
    /// 429's Retry-After in nanoseconds: only this destination waits that long, then one transfer
    /// may start at once and the next ones at the steady rate. A hold longer than the hold limit
    /// hands the destination's queue back as `backlogged` (returned); the destination's next
    /// transfer is considered on the next `takeReady`.
    mutating func finished(destination d: Int, holdFor: UInt64?, now: UInt64) -> [Action] {
        if case .sending = lanes[d].turn { inFlight -= 1 }
        lanes[d].turn = .idle
        touch(d)
        guard let holdFor else { return [] }
        lanes[d].heldUntil = max(lanes[d].heldUntil, Nanoseconds.adding(now, holdFor))
        lanes[d].bucket.restart(at: lanes[d].heldUntil)
        guard holdFor > policy.maxHoldNanos, !lanes[d].queue.isEmpty else { return [] }
        let notBefore = lanes[d].heldUntil
        let held = lanes[d].queue
        lanes[d].queue.removeAll()
        return held.map { .handBack($0.item, .backlogged(notBefore: notBefore)) }
    }

    /// Removes every queued transfer that `isWithdrawn` (now, instead of when it reaches the head of
    /// its queue); the queues keep their order. Returns them, destination by destination, in order.
    mutating func withdraw(where isWithdrawn: (Item) -> Bool) -> [Item] {
        var withdrawn: [Item] = []
        for d in lanes.indices where lanes[d].queue.contains(where: { isWithdrawn($0.item) }) {
            var kept = Deque<DestinationLane<Item>.Queued>()
            for q in lanes[d].queue {
                if isWithdrawn(q.item) { withdrawn.append(q.item) } else { kept.append(q) }
            }
            lanes[d].queue = kept
        }
        return withdrawn
    }

    /// Stops: every queued transfer, then every one at its gate, is handed back as `shuttingDown`;
    /// transfers sending finish (report them with `finished`); later submits are handed back.
    mutating func stop() -> [Action] {
        isStopped = true
        var out: [Action] = []
        for d in lanes.indices where !lanes[d].queue.isEmpty {
            for q in lanes[d].queue { out.append(.handBack(q.item, .shuttingDown)) }
            lanes[d].queue.removeAll()
        }
        for d in lanes.indices {
            guard case .atGate(let item) = lanes[d].turn else { continue }
            lanes[d].turn = .idle
            out.append(.handBack(item, .shuttingDown))
        }
        for d in lanes.indices {
            lanes[d].wakeUpAt = 0
            lanes[d].waitingForRoom = false
            lanes[d].touched = false
        }
        wakeUps = Heap()
        waitingForRoom.removeAll()
        touched.removeAll()
        return out
    }

    // MARK: - What may start now

    /// What may start at `now`: destinations touched by events, then those whose wake-up is due
    /// (in wake-up order), then those waiting for room while there is room. Withdrawn transfers
    /// reaching the head of a queue are handed back without taking a token.
    mutating func takeReady(now: UInt64, isWithdrawn: (Item) -> Bool) -> [Action] {
        var out: [Action] = []
        guard !isStopped else { return out }
        if !touched.isEmpty {
            for d in touched {
                lanes[d].touched = false
                pump(d, now: now, isWithdrawn: isWithdrawn, into: &out)
            }
            touched.removeAll(keepingCapacity: true)
        }
        while let next = wakeUps.min, next.at <= now {
            wakeUps.removeMin()
            guard lanes[next.destination].wakeUpAt == next.at else { continue }  // re-armed: stale
            lanes[next.destination].wakeUpAt = 0
            pump(next.destination, now: now, isWithdrawn: isWithdrawn, into: &out)
        }
        while inFlight < policy.maxInFlight, let d = waitingForRoom.popFirst() {
            lanes[d].waitingForRoom = false
            pump(d, now: now, isWithdrawn: isWithdrawn, into: &out)
        }
        // Stale wake-ups at the top would make `nextWakeUp` early: drop them.
        while let top = wakeUps.min, lanes[top.destination].wakeUpAt != top.at { wakeUps.removeMin() }
        return out
    }

    // MARK: - Inside

    private mutating func touch(_ d: Int) {
        guard !lanes[d].touched, !isStopped else { return }
        lanes[d].touched = true
        touched.append(d)
    }

    /// Arms destination `d`'s wake-up at `at` unless one at or before `at` is armed already.
    private mutating func arm(_ d: Int, at: UInt64) {
        if lanes[d].wakeUpAt != 0 && lanes[d].wakeUpAt <= at { return }
        lanes[d].wakeUpAt = at
        wakeUps.insert(DestinationWakeUp(at: at, sequence: nextSequence, destination: d))
        nextSequence &+= 1
    }

    /// Hands back withdrawn heads; then starts (or gates) the head if the destination is idle, not
    /// held, has a token and there is room; otherwise arms its wake-up or puts it in line for room.
    private mutating func pump(_ d: Int, now: UInt64, isWithdrawn: (Item) -> Bool, into out: inout [Action]) {
        while let head = lanes[d].queue.first, isWithdrawn(head.item) {
            lanes[d].queue.removeFirst()
            out.append(.handBack(head.item, .withdrawn))
        }
        guard lanes[d].isIdle, !lanes[d].queue.isEmpty else { return }
        if lanes[d].heldUntil > now {
            arm(d, at: lanes[d].heldUntil)
            return
        }
        if inFlight >= policy.maxInFlight {
            if !lanes[d].waitingForRoom {
                lanes[d].waitingForRoom = true
                waitingForRoom.append(d)
            }
            return
        }
        let tokenAt = lanes[d].bucket.nextTokenAt(now: now)
        if tokenAt > now {
            arm(d, at: tokenAt)
            return
        }
        _ = lanes[d].bucket.tryTake(now: now)
        let next = lanes[d].queue.removeFirst()
        if next.gated {
            lanes[d].turn = .atGate(next.item)
            out.append(.openGate(next.item))
        } else {
            lanes[d].turn = .sending
            inFlight += 1
            out.append(.send(next.item))
        }
    }
}
