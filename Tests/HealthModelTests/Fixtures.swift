import Contracts

@testable import HealthModel

/// Shared, deterministic fixtures (computed once; every test only reads them).
enum Fixtures {
    static let sampleOptions = SampleGenerator.Options(seed: 42, accounts: 40, days: 60)
    static let generator = SampleGenerator(options: sampleOptions)

    /// The whole sample as one JSON-lines buffer.
    static let sampleBytes: [UInt8] = {
        var out: [UInt8] = []
        for line in generator.allLines() {
            out.append(contentsOf: line)
            out.append(0x0A)
        }
        return out
    }()

    /// The sample replayed, with every record in order.
    static let replayed: (replay: Replay, records: [ScoreRecord]) = {
        var replay = Replay()
        var records: [ScoreRecord] = []
        sampleBytes.withUnsafeBufferPointer { buffer in
            var start = 0
            for k in 0..<buffer.count where buffer[k] == 0x0A {
                replay.process(line: UnsafeBufferPointer(rebasing: buffer[start..<k])) { records.append($0) }
                start = k + 1
            }
        }
        return (replay, records)
    }()

    static func records(of account: String) -> [ScoreRecord] {
        replayed.records.filter { $0.accountId == account }
    }

    /// Midnight of a sample day index.
    static func day(_ index: Int) -> Timestamp {
        Timestamp.startOfDay(sampleOptions.start.epochDay + Int64(index))
    }
}

/// Builds events without JSON.
struct EventFactory {
    let account: String
    var sequence = 0

    init(account: String) { self.account = account }

    mutating func make(
        _ type: EventType, at: Timestamp, user: String? = nil, _ properties: EventProperties = EventProperties(),
        id: String? = nil
    ) -> AccountEvent {
        sequence += 1
        return AccountEvent(
            eventId: id ?? "\(account)-\(sequence)", accountId: account, type: type, occurredAt: at, userId: user,
            properties: properties)
    }
}
