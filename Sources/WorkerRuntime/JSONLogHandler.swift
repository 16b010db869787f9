import Contracts
import Foundation
import Logging

/// Writes one JSON object per line: `ts`, `level`, `logger`, `msg`, and the metadata as fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void
    private let clock: WallClock

    /// A handler writing each line with `write`, stamped with `clock`'s time.
    public init(
        label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError,
        clock: WallClock = .system
    ) {
        self.label = label
        self.write = write
        self.clock = clock
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var line = [UInt8]()
        line.reserveCapacity(256)
        func field(_ key: String, _ value: String) {
            line.append(line.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            JSONText.appendQuoted(key, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(value, to: &line)
        }
        field("ts", clock.now().rfc3339)
        field("level", event.level.rawValue)
        field("logger", label)
        field("msg", "\(event.message)")
        for key in fields.keys.sorted() { field(key, "\(fields[key]!)") }
        line.append(contentsOf: "}\n".utf8)
        write(String(decoding: line, as: UTF8.self))
    }
}
