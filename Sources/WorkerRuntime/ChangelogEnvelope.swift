import Contracts

/// The runtime's frame around every changelog value: who wrote it and which input records it
/// already reflects.
///
/// - **Owner epoch** fences writes of an earlier owner of the partition. A member that lost its
///   partitions may still have changelog writes queued in its producer (librdkafka retries them
///   for up to `message.timeout.ms`); they can land after the new owner's writes. The new owner's
///   epoch is higher than any epoch it restored (and than the wall clock in milliseconds at its
///   assignment), and restore keeps, per key, the value with the highest epoch, so a stale write
///   never wins, whenever it lands.
/// - **Applied offsets** make replays after a crash exact for the key's own records: the value of
///   key K carries, per input topic, the offset of the last record of K whose effect it holds. A
///   record of K at or below it is already in the state (and, because a flush is written only
///   after every output emitted before it is acknowledged, its outputs are in Kafka): it is not
///   applied twice when the partition is read again from an older committed offset.
///
/// Layout, version 1: magic `0xF1 0xEE`, version byte, flags (bit 0: deleted), owner epoch (8
/// bytes, big endian), count of applied offsets (1 byte), then per entry the input's index in the
/// topology (1 byte) and the offset (8 bytes), then the processor's own bytes.
///
/// A value without the magic is a value written before the runtime framed its values (version 0):
/// it is read as the processor's bytes with epoch 0 and no applied offsets.
public struct ChangelogEnvelope: Sendable, Equatable {
    public static let magic: (UInt8, UInt8) = (0xF1, 0xEE)
    public static let version: UInt8 = 1

    /// The writer's owner epoch.
    public var epoch: Int64
    /// A deleted key (kept as a framed value, so a stale tombstone cannot delete a newer value).
    public var deleted: Bool
    /// Per input index (position in `WorkerTopology.inputs`): last applied offset of this key.
    public var applied: [UInt8: Int64]
    /// The processor's own encoding (empty when deleted).
    public var payload: [UInt8]

    public init(epoch: Int64, deleted: Bool = false, applied: [UInt8: Int64] = [:], payload: [UInt8]) {
        self.epoch = epoch
        self.deleted = deleted
        self.applied = applied
        self.payload = payload
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = [Self.magic.0, Self.magic.1, Self.version, deleted ? 1 : 0]
        out.reserveCapacity(13 + applied.count * 9 + payload.count)
        Self.append(epoch, to: &out)
        out.append(UInt8(applied.count))
        for (input, offset) in applied.sorted(by: { $0.key < $1.key }) {
            out.append(input)
            Self.append(offset, to: &out)
        }
        out += payload
        return out
    }

    /// Decodes a framed value, or reads an unframed one as version 0.
    public init(decoding bytes: [UInt8]) throws(Rejection) {
        guard bytes.count >= 2, bytes[0] == Self.magic.0, bytes[1] == Self.magic.1 else {
            self.init(epoch: 0, payload: bytes)
            return
        }
        guard bytes.count >= 13 else {
            throw Rejection(code: "bad_envelope", reason: "changelog frame cut short (\(bytes.count) bytes)")
        }
        guard bytes[2] == Self.version else {
            throw Rejection(
                code: "unknown_envelope_version",
                reason: "changelog frame version \(bytes[2]); this build reads \(Self.version)")
        }
        let deleted = bytes[3] & 1 == 1
        let epoch = Self.int64(bytes, at: 4)
        let count = Int(bytes[12])
        var at = 13
        guard bytes.count >= at + count * 9 else {
            throw Rejection(code: "bad_envelope", reason: "changelog frame cut short in its offsets")
        }
        var applied: [UInt8: Int64] = [:]
        for _ in 0..<count {
            applied[bytes[at]] = Self.int64(bytes, at: at + 1)
            at += 9
        }
        self.init(epoch: epoch, deleted: deleted, applied: applied, payload: Array(bytes[at...]))
    }

    private static func append(_ value: Int64, to out: inout [UInt8]) {
        let u = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: u >> UInt64(shift))) }
    }

    private static func int64(_ bytes: [UInt8], at: Int) -> Int64 {
        var u: UInt64 = 0
        for i in 0..<8 { u = u << 8 | UInt64(bytes[at + i]) }
        return Int64(bitPattern: u)
    }
}

/// The partition's own metadata, kept in its changelog under a reserved key: the event-time
/// watermark, so a restart or a rebalance resumes time exactly where the last owner left it.
public struct PartitionMetadata: Sendable, Equatable {
    /// The reserved changelog key (a record key that starts with NUL is refused as input).
    public static let key = "\u{0}partition"
    public static let version: UInt8 = 1

    /// The partition's event-time watermark (ms since the epoch), nil before the first event.
    public var watermark: Int64?

    public init(watermark: Int64? = nil) { self.watermark = watermark }

    var bytes: [UInt8] {
        var out: [UInt8] = [Self.version, watermark == nil ? 0 : 1]
        let u = UInt64(bitPattern: watermark ?? 0)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: u >> UInt64(shift))) }
        return out
    }

    init(decoding bytes: [UInt8]) throws(Rejection) {
        guard bytes.count == 10, bytes[0] == Self.version else {
            throw Rejection(
                code: "bad_partition_metadata",
                reason: "partition metadata of \(bytes.count) bytes, version \(bytes.first.map(String.init) ?? "none")")
        }
        var u: UInt64 = 0
        for i in 2..<10 { u = u << 8 | UInt64(bytes[i]) }
        watermark = bytes[1] == 1 ? Int64(bitPattern: u) : nil
    }
}

/// What a changelog value's numbers may be: the frame is input too (a bad write, a bit flip, a tool),
/// and a number no owner could have written must not decide anything. An owner epoch is the wall
/// clock (ms) at an assignment, or one above the highest restored: one far beyond the wall clock
/// would win over every later write forever (and `+ 1` on `Int64.max` traps). An applied offset is
/// the offset of an input record: one the input never reached (or a negative one) would mark every
/// later record of its key as already applied. A watermark is an event time the future-time bound
/// admitted. A value that breaks one of these is skipped at restore, as if it were not there.
public struct ChangelogPlausibility: Sendable, Equatable {
    /// How far beyond the wall clock at restore an owner epoch may be: a year.
    public static let maxEpochLeadMilliseconds: Int64 = 366 * 86_400_000
    /// How far beyond the future-time bound a saved watermark may be (clocks of earlier owners): a day.
    public static let watermarkMarginMilliseconds: Int64 = 86_400_000

    /// The highest believable owner epoch.
    public var epochLimit: Int64
    /// The highest believable watermark.
    public var watermarkLimit: Int64
    /// Per input index: the input partition's end offset at restore (an applied offset is below it);
    /// an input missing here is not checked.
    public var inputEnds: [UInt8: Int64]

    /// The limits at wall clock `now` (ms) with the worker's future-time bound and its inputs' ends.
    public init(now: Int64, futureTimeBound: FutureTimeBound, inputEnds: [UInt8: Int64] = [:]) {
        let (epochLimit, epochOverflow) = now.addingReportingOverflow(Self.maxEpochLeadMilliseconds)
        self.epochLimit = epochOverflow ? .max : epochLimit
        let (watermarkLimit, overflow) = futureTimeBound.limit(now: now)
            .addingReportingOverflow(Self.watermarkMarginMilliseconds)
        self.watermarkLimit = overflow ? .max : watermarkLimit
        self.inputEnds = inputEnds
    }

    /// Why `envelope` cannot be true, or nil.
    public func problem(with envelope: ChangelogEnvelope) -> String? {
        if envelope.epoch > epochLimit { return epochProblem(envelope.epoch) }
        for (input, offset) in envelope.applied.sorted(by: { $0.key < $1.key }) {
            if let problem = offsetProblem(input, offset) { return problem }
        }
        return nil
    }

    /// The same, for a value already kept: its owner epoch and the input offsets it reflects.
    func problem(epoch: Int64, applied: AppliedOffsets) -> String? {
        if epoch > epochLimit { return epochProblem(epoch) }
        var found: String?
        applied.forEachOffset { input, offset in
            if found == nil { found = offsetProblem(input, offset) }
        }
        return found
    }

    private func epochProblem(_ epoch: Int64) -> String {
        "owner epoch \(epoch) is beyond the wall clock at restore plus a year"
    }

    private func offsetProblem(_ input: UInt8, _ offset: Int64) -> String? {
        if offset < 0 { return "applied offset \(offset) of input \(input) is negative" }
        if let end = inputEnds[input], offset >= end {
            return "applied offset \(offset) of input \(input) is at or beyond the input's end (\(end))"
        }
        return nil
    }

    /// Why a partition's saved metadata cannot be true, or nil.
    public func problem(with metadata: PartitionMetadata) -> String? {
        guard let watermark = metadata.watermark, watermark > watermarkLimit else { return nil }
        return "watermark \(watermark) is beyond the future-time bound at restore plus a day"
    }
}
