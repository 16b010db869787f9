import Foundation

/// Reads a file (or standard input for "-") as lines, in chunks, handing each line without its
/// newline to `body` (the last line may lack a newline).
enum JSONLines {
    static func forEachLine(in path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let reader: FileHandle
        if path == "-" {
            reader = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw HistoryCommandError(message: "cannot read \(path)")
            }
            reader = h
        }
        defer { if path != "-" { try? reader.close() } }
        var pending = [UInt8]()
        while true {
            let chunk = try reader.read(upToCount: 1 << 20) ?? Data()
            let atEnd = chunk.isEmpty
            pending.append(contentsOf: chunk)
            var start = 0
            try pending.withUnsafeBufferPointer { buffer in
                var k = start
                while k < buffer.count {
                    if buffer[k] == 0x0A {
                        try body(UnsafeBufferPointer(rebasing: buffer[start..<k]))
                        start = k + 1
                    }
                    k += 1
                }
                if atEnd, start < buffer.count {
                    try body(UnsafeBufferPointer(rebasing: buffer[start..<buffer.count]))
                    start = buffer.count
                }
            }
            pending.removeFirst(start)
            if atEnd { return }
        }
    }
}

/// A failure of a history command that is not a usage error (no usage text is printed).
struct HistoryCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
