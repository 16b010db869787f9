/// What can go wrong reading the shared encodings of Contracts. Each case says where in the bytes
/// it happened, so that a caller can name the record (topic, partition, offset) and the byte.
public enum ContractsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes end inside a varint that starts at `offset`: the record was cut short.
    case varintTruncated(offset: Int)
    /// The varint at `offset` does not fit in 64 bits (a 10th byte above 1, or an 11th byte): the
    /// bytes were not written by this codec; treat the record as corrupt.
    case varintOverlong(offset: Int)

    public var description: String {
        switch self {
        case .varintTruncated(let offset): "varint truncated at byte \(offset)"
        case .varintOverlong(let offset): "varint longer than 64 bits at byte \(offset)"
        }
    }
}
