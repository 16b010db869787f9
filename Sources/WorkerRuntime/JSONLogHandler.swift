import Contracts
import Foundation
import Logging

/// Writes one JSON object per line: `ts`, `level`, `logger`, `msg`, and the metadata as fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
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
        field("ts", Self.timestamp())
        field("level", event.level.rawValue)
        field("logger", label)
        field("msg", "\(event.message)")
        for key in fields.keys.sorted() { field(key, "\(fields[key]!)") }
        line.append(contentsOf: "}\n".utf8)
        write(String(decoding: line, as: UTF8.self))
    }

    static func timestamp() -> String {
        Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)).rfc3339
    }
}
