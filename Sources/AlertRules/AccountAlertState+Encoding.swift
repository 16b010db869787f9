import Contracts

/// The changelog encoding of `AccountAlertState`: compact, versioned binary.
///
/// Version 2 appends the event time of the last evaluated score record (a presence byte, then a
/// zig-zag varint); version 3 then appends the identities of the last records evaluated (a count,
/// then each as 8 bytes). Versions 1 and 2 are still read (without them: the first records after
/// such a restore are evaluated, which a repeat of the last record survives: its triggers were seen
/// and its episodes are not due again at the same time). Version 4 then appends what people did
/// with the account's alerts (`AlertActionMemory`) as one length-prefixed JSON blob, empty when
/// there is nothing; versions 1 to 3 are read with an empty memory.
///
/// Layout (version 1): a version byte, then the last score, the score peaks (times as deltas), open
/// episodes, per-type last alerts, seen trigger refs, and deferred alerts and digest items as
/// length-prefixed JSON (`RecordCoding`, so they carry the full score facts). Integers are LEB128
/// varints (signed ones zig-zag), fixed-width fields little-endian.
///
/// Since quiet hours and digests are the dispatcher's alone, an evaluator holds neither: both counts
/// are written as what is left of `earlierHolds` (zero once released), so that part of the layout
/// stays the one version 3 reads. A release that reads only up to version 3 refuses a version-4
/// value (`unsupportedStateVersion`): roll back past issue 24's actions with that in mind.
///
/// Version 5 then appends the SLA clocks of unacknowledged episodes (`EscalationTimer`): a count,
/// then each as rule key (4 bytes), opening time, due time (a delta from the opening), escalations
/// raised, severity, priority, and the destination and alert id as length-prefixed text. Versions 1
/// to 4 are read without clocks (an episode alerted before the upgrade does not escalate).
///
/// Version 6 then appends the opening messages of open episodes (`Opening`): a count, then each as
/// rule key (4 bytes), opening time and the alert as length-prefixed JSON (`RecordCoding`).
/// Versions 1 to 5 are read without openings (messages posted before the upgrade are not edited).
extension AccountAlertState {
    public static let encodingVersion: UInt8 = 6

    /// The changelog value for this state.
    public func encoded() throws -> [UInt8] {
        var w = ByteWriter()
        w.byte(Self.encodingVersion)
        w.varint(UInt64(lastScore.map { $0 + 1 } ?? 0))
        w.varint(UInt64(peaks.count))
        var previousAt: Int64 = 0
        for p in peaks {
            w.signed(p.at - previousAt)
            previousAt = p.at
            w.varint(UInt64(max(0, p.score)))
        }
        w.varint(UInt64(episodes.count))
        for e in episodes {
            w.fixed32(e.ruleKey)
            w.signed(e.openedAt)
            w.varint(UInt64(e.sent))
            w.signed(e.lastSentAt - e.openedAt)
            w.fixed64(e.lastMetric.bitPattern)
            w.byte(UInt8(e.lastSeverity.rank))
        }
        w.varint(UInt64(lastAlertAt.count))
        for (at, severity) in zip(lastAlertAt, lastAlertSeverity) {
            if let at {
                w.byte(1)
                w.signed(at)
                w.byte(UInt8(severity.rank))
            } else {
                w.byte(0)
            }
        }
        w.varint(UInt64(seenRefs.count))
        for r in seenRefs {
            w.fixed64(r.hash)
            w.signed(r.at)
        }
        w.varint(UInt64(earlierHolds.deferred.count))
        for alert in earlierHolds.deferred { w.blob(try RecordCoding.encode(alert)) }
        w.varint(UInt64(earlierHolds.digestItems.count))
        for q in earlierHolds.digestItems {
            w.blob(Array(q.destination.utf8))
            w.signed(q.due.millisecondsSinceEpoch)
            w.byte(UInt8(q.priority.level))
            w.blob(try RecordCoding.encode(q.item))
        }
        if let lastEvaluatedAt {
            w.byte(1)
            w.signed(lastEvaluatedAt)
        } else {
            w.byte(0)
        }
        w.varint(UInt64(recentRecords.count))
        for identity in recentRecords { w.fixed64(identity) }
        w.blob(actions.isEmpty ? [] : try RecordCoding.encode(actions))
        w.varint(UInt64(escalations.count))
        for t in escalations {
            w.fixed32(t.ruleKey)
            w.signed(t.openedAt)
            w.signed(t.due &- t.openedAt)
            w.varint(UInt64(t.raised))
            w.byte(UInt8(t.severity.rank))
            w.byte(UInt8(t.priority.level))
            w.blob(Array(t.destination.utf8))
            w.blob(Array(t.alertId.utf8))
        }
        w.varint(UInt64(openings.count))
        for o in openings {
            w.fixed32(o.ruleKey)
            w.signed(o.openedAt)
            w.blob(try RecordCoding.encode(o.alert))
        }
        return w.bytes
    }

    /// Decodes a changelog value written by `encoded()`.
    public init(decoding bytes: some Collection<UInt8>) throws {
        var r = ByteReader(Array(bytes))
        let version = try r.byte()
        guard (1...6).contains(version) else {
            if version > Self.encodingVersion { throw AlertRulesError.unsupportedStateVersion(Int(version)) }
            throw AlertRulesError.corruptState(reason: "unknown version \(version)")
        }
        self.init()
        let score = try r.varint()
        guard score <= 101 else { throw AlertRulesError.corruptState(reason: "bad last score") }
        lastScore = score == 0 ? nil : Int(score) - 1
        var previousAt: Int64 = 0
        for _ in 0..<(try r.count()) {
            let at = try ByteReader.time(previousAt, plus: try r.signed())
            previousAt = at
            let peak = try r.varint()
            guard peak <= 100 else { throw AlertRulesError.corruptState(reason: "bad peak score") }
            peaks.append(Peak(at: at, score: Int(peak)))
        }
        for _ in 0..<(try r.count()) {
            let key = try r.fixed32()
            let openedAt = try r.time()
            let sent = UInt32(truncatingIfNeeded: try r.varint())
            let lastSentAt = try ByteReader.time(openedAt, plus: try r.signed())
            let metric = Double(bitPattern: try r.fixed64())
            let severity = try r.severity()
            episodes.append(
                Episode(
                    ruleKey: key, openedAt: openedAt, sent: sent, lastSentAt: lastSentAt, lastMetric: metric,
                    lastSeverity: severity))
        }
        let types = try r.count()
        guard types == 0 || types == AlertType.allCases.count else {
            throw AlertRulesError.corruptState(reason: "\(types) alert types, expected \(AlertType.allCases.count)")
        }
        for _ in 0..<types {
            if try r.byte() == 1 {
                lastAlertAt.append(try r.time())
                lastAlertSeverity.append(try r.severity())
            } else {
                lastAlertAt.append(nil)
                lastAlertSeverity.append(.low)
            }
        }
        for _ in 0..<(try r.count()) {
            let hash = try r.fixed64()
            seenRefs.append(SeenRef(hash: hash, at: try r.time()))
        }
        do {
            for _ in 0..<(try r.count()) {
                earlierHolds.deferred.append(try RecordCoding.decode(AlertRecord.self, from: try r.blob()))
            }
            for _ in 0..<(try r.count()) {
                let destination = String(decoding: try r.blob(), as: UTF8.self)
                let due = Timestamp(millisecondsSinceEpoch: try r.time())
                guard let priority = Priority(level: Int(try r.byte())) else {
                    throw AlertRulesError.corruptState(reason: "bad digest priority")
                }
                let item = try RecordCoding.decode(DigestItem.self, from: try r.blob())
                earlierHolds.digestItems.append(
                    EarlierHolds.DigestItemEntry(destination: destination, due: due, priority: priority, item: item))
            }
        } catch let error as AlertRulesError {
            throw error
        } catch {
            throw AlertRulesError.corruptState(reason: "bad embedded record: \(error)")
        }
        if version >= 2, try r.byte() == 1 { lastEvaluatedAt = try r.time() }
        if version >= 3 {
            for _ in 0..<(try r.count()) { rememberRecord(try r.fixed64()) }
        }
        if version >= 4 {
            let blob = try r.blob()
            if !blob.isEmpty {
                do {
                    actions = try RecordCoding.decode(AlertActionMemory.self, from: blob)
                } catch {
                    throw AlertRulesError.corruptState(reason: "bad action memory: \(RecordCoding.describe(error))")
                }
            }
        }
        if version >= 5 {
            for _ in 0..<(try r.count()) {
                let key = try r.fixed32()
                let openedAt = try r.time()
                let due = try ByteReader.time(openedAt, plus: try r.signed())
                let raised = UInt32(truncatingIfNeeded: try r.varint())
                let severity = try r.severity()
                guard let priority = Priority(level: Int(try r.byte())) else {
                    throw AlertRulesError.corruptState(reason: "bad escalation priority")
                }
                let destination = String(decoding: try r.blob(), as: UTF8.self)
                let alertId = String(decoding: try r.blob(), as: UTF8.self)
                escalations.append(
                    EscalationTimer(
                        ruleKey: key, openedAt: openedAt, due: due, raised: raised, severity: severity,
                        priority: priority, destination: destination, alertId: alertId))
            }
        }
        if version >= 6 {
            for _ in 0..<(try r.count()) {
                let key = try r.fixed32()
                let openedAt = try r.time()
                let blob = try r.blob()
                do {
                    openings.append(
                        Opening(
                            ruleKey: key, openedAt: openedAt,
                            alert: try RecordCoding.decode(AlertRecord.self, from: blob)))
                } catch {
                    throw AlertRulesError.corruptState(reason: "bad opening message: \(RecordCoding.describe(error))")
                }
            }
        }
        guard r.atEnd else { throw AlertRulesError.corruptState(reason: "\(r.remaining) trailing bytes") }
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    mutating func signed(_ value: Int64) { Varint.append(signed: value, to: &bytes) }

    mutating func fixed32(_ value: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    mutating func fixed64(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    mutating func blob(_ data: [UInt8]) {
        varint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else {
            throw AlertRulesError.corruptState(reason: "truncated at byte \(position)")
        }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws -> UInt64 {
        do {
            return try Varint.read(from: bytes, at: &position)
        } catch {
            throw AlertRulesError.corruptState(reason: error.description)
        }
    }

    /// A count that must fit in what is left (guards against absurd lengths in corrupt input).
    mutating func count() throws -> Int {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw AlertRulesError.corruptState(reason: "count \(n) beyond the data") }
        return Int(n)
    }

    mutating func signed() throws -> Int64 { Varint.unzigzag(try varint()) }

    /// A time (ms since the epoch) within 2^50 ms (35,000 years) of 1970: time arithmetic on a
    /// decoded time (a cooldown, a due time, a window) can then never overflow.
    mutating func time() throws -> Int64 {
        try Self.plausible(try signed())
    }

    /// `base + delta` as a time: refused, not trapped, when it overflows or is not plausible.
    static func time(_ base: Int64, plus delta: Int64) throws -> Int64 {
        let (sum, overflow) = base.addingReportingOverflow(delta)
        guard !overflow else { throw AlertRulesError.corruptState(reason: "time out of range") }
        return try plausible(sum)
    }

    static func plausible(_ time: Int64) throws -> Int64 {
        guard time > -(1 << 50), time < (1 << 50) else {
            throw AlertRulesError.corruptState(reason: "time \(time) out of range")
        }
        return time
    }

    mutating func fixed32() throws -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(try byte()) << (8 * UInt32(i)) }
        return v
    }

    mutating func fixed64() throws -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(try byte()) << (8 * UInt64(i)) }
        return v
    }

    mutating func severity() throws -> Severity {
        let rank = try byte()
        guard let s = Severity.allCases.first(where: { $0.rank == Int(rank) }) else {
            throw AlertRulesError.corruptState(reason: "bad severity \(rank)")
        }
        return s
    }

    mutating func blob() throws -> [UInt8] {
        let n = try count()
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }
}
