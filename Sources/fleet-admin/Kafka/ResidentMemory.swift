import Foundation

/// This process's resident memory, for the benchmarks that report memory.
enum ResidentMemory {
    /// Resident bytes now (from /proc/self/statm; 0 where it cannot be read).
    static var bytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
