import AlertRules
import Contracts
import HealthModel

@testable import Stages
@testable import WorkerRuntime

/// The changelog frame every restored state value comes in, and the partition metadata record:
/// decoding never traps; what decodes re-encodes to a frame that decodes to the same value.
enum ChangelogEnvelopeFuzz {
    static let target = FuzzTarget(name: "changelog-envelope", summary: "ChangelogEnvelope and PartitionMetadata") {
        input in
        let bytes = Array(input)
        if let envelope = try? ChangelogEnvelope(decoding: bytes) {
            let again = try? ChangelogEnvelope(decoding: envelope.bytes)
            FuzzCheck.require(again == envelope, "changelog envelope does not survive encode/decode")
        }
        if let metadata = try? PartitionMetadata(decoding: bytes) {
            FuzzCheck.require(
                (try? PartitionMetadata(decoding: metadata.bytes)) == metadata,
                "partition metadata does not survive encode/decode")
        }
    }
}

/// The stages' states: decoding never traps, and a decoded state round trips: its encoding decodes
/// to a state that encodes to the same bytes. (Compared as bytes: a state may hold a NaN, which is
/// not equal to itself.)
///
/// The scorer's per-account state (`ingest-scorer-state` values after the frame).
enum ScorerStateFuzz {
    static let target = FuzzTarget(name: "scorer-state", summary: "AccountState(decoding:) (ingest-scorer-state)") {
        input in
        guard let state = try? AccountState(decoding: Array(input)) else { return }
        let bytes = state.encode()
        guard let again = try? AccountState(decoding: bytes) else {
            FuzzCheck.fail("scorer state: a decoded state re-encodes to bytes it refuses")
        }
        FuzzCheck.require(again.encode() == bytes, "scorer state: decode(encode(x)) encodes differently")
    }
}

/// A scorer partition's part of the population (`ingest-scorer-population` values, read by every
/// scorer): decoding never traps, a decoded part round trips to the same bytes, and parts summed and
/// sealed as a scorer does (`PopulationActivity.takeCounts`) never trap either.
enum PopulationPartFuzz {
    static let target = FuzzTarget(
        name: "population-part",
        summary: "PopulationPart(decoding:) and the population's sums (ingest-scorer-population)"
    ) { input in
        guard let part = try? PopulationPart(decoding: Array(input)) else { return }
        let bytes = part.encoded()
        FuzzCheck.require((try? PopulationPart(decoding: bytes)) == part, "population part: decode(encode(x)) differs")
        var population = PopulationActivity(minAccounts: 1, dipBelow: 0.8)
        population.takeCounts(of: [part.counts, part.counts], sealThrough: part.sealedThrough)
        if part.sealedThrough != .min {
            _ = population.shareSoFar(day: part.sealedThrough + 1, beforeHour: 12)
            _ = population.dip(on: part.sealedThrough)
        }
    }
}

/// The evaluator's per-account state (`evaluator-state` values after the frame).
enum EvaluatorStateFuzz {
    static let target = FuzzTarget(name: "evaluator-state", summary: "AccountAlertState(decoding:) (evaluator-state)") {
        input in
        guard let state = try? AccountAlertState(decoding: input) else { return }
        let bytes: [UInt8]
        do { bytes = try state.encoded() } catch {
            FuzzCheck.fail("evaluator state: a decoded state cannot be encoded: \(error)")
        }
        guard let again = try? AccountAlertState(decoding: bytes) else {
            FuzzCheck.fail("evaluator state: a decoded state re-encodes to bytes it refuses")
        }
        FuzzCheck.require((try? again.encoded()) == bytes, "evaluator state: decode(encode(x)) encodes differently")
    }
}

/// The dispatcher's per-destination schedule (`dispatcher-state` values after the frame) and the
/// values of its delivery log (`alerts-delivered`), read back at every assignment.
enum DispatcherStateFuzz {
    static let target = FuzzTarget(
        name: "dispatcher-state", summary: "DestinationScheduleState and delivery log values"
    ) { input in
        var log = DeliveryLogSnapshot()
        log.apply(key: "k", value: Array(input), timestamp: 1_800_000_000_000)
        guard let state = try? DestinationScheduleState(stateBytes: Array(input)) else { return }
        let bytes = state.stateBytes
        FuzzCheck.require(!bytes.isEmpty, "dispatcher state: a decoded state cannot be encoded")
        guard let again = try? DestinationScheduleState(stateBytes: bytes) else {
            FuzzCheck.fail("dispatcher state: a decoded state re-encodes to bytes it refuses")
        }
        FuzzCheck.require(again.stateBytes == bytes, "dispatcher state: decode(encode(x)) encodes differently")
    }
}
