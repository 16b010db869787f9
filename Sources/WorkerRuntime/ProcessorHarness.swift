import Kafka

/// One partition of a stage's processor, driven without Kafka: records in, outputs and rejections
/// out, state in memory. The same processor code as a worker runs, for benchmarks, backtests and
/// tests of a stage's time model. Not thread-safe: drive it from one thread.
public final class ProcessorHarness<Processor: RecordProcessor> {
    public let processor: Processor
    public let context: ProcessingContext<Processor.State>

    /// What one record did.
    public enum Outcome {
        case emitted([OutgoingRecord])
        case rejected(Rejection)
    }

    /// - Parameters:
    ///   - partition: the partition number the processor sees.
    ///   - maxClockSkew: how far ahead of the wall clock an event time may be.
    public init(processor: Processor, partition: Int32 = 0, maxClockSkew: Duration = .seconds(600)) {
        self.processor = processor
        self.context = ProcessingContext(
            state: PartitionState(partition: partition), maxClockSkewMilliseconds: maxClockSkew.inMilliseconds)
        context.stage = "harness"
        context.deadLetterTopic = "dead-letters"
        if let reader = processor.assignmentReader { context.assignmentData = try? reader(partition) }
        processor.partitionAssigned(context: context)
    }

    /// The partition's state.
    public var state: PartitionState<Processor.State> { context.state }

    /// Handles one record as the worker would at wall-clock time `now` (ms since the epoch);
    /// `caughtUp` false says more records of its partition wait behind it (a backlog).
    public func process(_ record: ConsumedRecord, now: Int64, caughtUp: Bool = true) -> Outcome {
        context.outputs.removeAll(keepingCapacity: true)
        context.current = record
        context.wallClockMilliseconds = now
        context.caughtUp = caughtUp
        defer {
            context.current = nil
            context.outputs.removeAll(keepingCapacity: true)
        }
        do {
            try processor.process(record, context: context)
            return .emitted(context.outputs)
        } catch {
            return .rejected(error)
        }
    }

    /// Runs the processor's timer at wall-clock time `now` (ms); returns what it emitted.
    public func tick(now: Int64, caughtUp: Bool = true) -> [OutgoingRecord] {
        context.outputs.removeAll(keepingCapacity: true)
        context.wallClockMilliseconds = now
        context.caughtUp = caughtUp
        processor.tick(nowMilliseconds: now, context: context)
        defer { context.outputs.removeAll(keepingCapacity: true) }
        return context.outputs
    }
}
