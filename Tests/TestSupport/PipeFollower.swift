import Foundation

/// Copies what a child process writes to a pipe into a `LogLines`, on a thread of its own that
/// blocks in `read(2)` until end of file.
///
/// Not Foundation's `readabilityHandler`: that is a dispatch read source, and tearing one down
/// while the child exits races libdispatch's epoll bookkeeping on Linux (the test process then
/// dies in `_dispatch_event_loop_drain`, as CI did on 2026-12-06; swift-corelibs-foundation
/// PR 5507 describes the same crash). A plain blocking read has no teardown to race.
public final class PipeFollower: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    /// Starts following `handle` (the read end of a pipe whose write end the child holds).
    /// The follower keeps `handle` open until it reads end of file.
    public init(_ handle: FileHandle, into lines: LogLines) {
        let finished = self.finished
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            let capacity = 64 * 1024
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
            defer {
                buffer.deallocate()
                withExtendedLifetime(handle) {}
                lines.end()
                finished.signal()
            }
            while true {
                let count = read(descriptor, buffer, capacity)
                if count > 0 {
                    lines.append(
                        String(decoding: UnsafeRawBufferPointer(start: buffer, count: count), as: UTF8.self))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        thread.name = "pipe-follower"
        thread.start()
    }

    /// Waits, at most `timeout`, until everything the child wrote is in the lines (end of file);
    /// false if the pipe is still open then (a grandchild holding it, say).
    @discardableResult
    public func waitForEnd(timeout: Duration) -> Bool {
        guard finished.wait(timeout: .now() + timeout.seconds) == .success else { return false }
        finished.signal()  // for the next caller
        return true
    }
}
