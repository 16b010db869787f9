import Contracts
import FleetOps
import Foundation
import Kafka
import Logging

/// Where a probe's event-to-Slack time goes, hop by hop: from the event's send to its score record
/// (the scorer's read and work), from the score to the first alert about it (the scorer's send, the
/// evaluator's read and work), and from that alert to the probe's first Slack message (the
/// evaluator's send, the dispatcher's read, its delivery intent and the post). Read from the
/// records' own timestamps, which librdkafka sets when a stage hands the record to its producer.
struct ProbeHops {
    /// Milliseconds per probe, per hop, in the hops' order.
    var eventToScore: [Int64] = []
    var scoreToAlert: [Int64] = []
    var alertToSlack: [Int64] = []

    /// Reads `health-scores` and `alerts` whole and pairs their first record per probe account with
    /// the probe's send (`sent`) and first Slack message (`slack`), both wall-clock milliseconds.
    static func measure(
        _ cluster: MockCluster, prefix: String, sent: [String: Int64], slack: [String: Int64], logger: Logger
    ) async throws -> ProbeHops {
        let configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let scores = try await TopicReader.readAll(
            topic: prefix + FleetTopics.healthScores, configuration: configuration, logger: logger)
        let alerts = try await TopicReader.readAll(
            topic: prefix + FleetTopics.alerts, configuration: configuration, logger: logger)
        var scored: [String: Int64] = [:]
        for record in scores {
            guard let key = record.key, let at = record.timestamp else { continue }
            let account = String(decoding: key, as: UTF8.self)
            if sent[account] != nil { scored[account] = min(scored[account] ?? .max, at) }
        }
        var alerted: [String: Int64] = [:]
        for record in alerts {
            guard let value = record.value, let at = record.timestamp,
                let account = try? RecordCoding.decode(AlertRecord.self, from: value).accountId, sent[account] != nil
            else { continue }
            alerted[account] = min(alerted[account] ?? .max, at)
        }
        var hops = ProbeHops()
        for (account, at) in sent {
            guard let score = scored[account], let alert = alerted[account], let posted = slack[account] else {
                continue
            }
            hops.eventToScore.append(score - at)
            hops.scoreToAlert.append(alert - score)
            hops.alertToSlack.append(posted - alert)
        }
        return hops
    }

    /// One line per hop: p50, p90, p99 and max over the probes that went all the way.
    var lines: [String] {
        func figures(_ name: String, _ values: [Int64]) -> String {
            let sorted = values.sorted()
            func at(_ p: Double) -> Int64 { Self.nearestRank(p, of: sorted) }
            return "\(name): p50 \(at(0.5)) ms, p90 \(at(0.9)) ms, p99 \(at(0.99)) ms, max \(sorted.last ?? -1) ms"
        }
        return [
            figures("event -> score", eventToScore), figures("score -> alert", scoreToAlert),
            figures("alert -> Slack", alertToSlack), "over \(eventToScore.count) probes",
        ]
    }

    /// The nearest-rank `p` quantile of `sorted` (ascending), or -1 when it is empty.
    static func nearestRank(_ p: Double, of sorted: [Int64]) -> Int64 {
        sorted.isEmpty ? -1 : sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }
}
