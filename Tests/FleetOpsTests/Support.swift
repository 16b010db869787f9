import Contracts
import Foundation
import Kafka
import Logging

enum OpsTestKafka {
    static let logger: Logger = {
        var logger = Logger(label: "fleet-ops-tests")
        logger.logLevel = .error
        return logger
    }()

    static func topic(_ name: String) -> String { "\(name)-\(UInt32.random(in: 0...UInt32.max))" }

    static func config(_ cluster: MockCluster) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["topic.metadata.refresh.interval.ms": "1000"])
    }

    /// Sends each record and waits for all acknowledgements.
    static func produce(_ records: [OutgoingRecord], cluster: MockCluster) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "1"]),
            logger: logger)
        for record in records { _ = try await producer.send(record) }
        await producer.shutdown()
    }

    static func alert(id: String, account: String = "acme", destination: String = "cs-escalations") -> AlertRecord {
        AlertRecord(
            alertId: id, type: .customerAtRisk, severity: .critical, priority: Priority(level: 1)!,
            destination: destination,
            accountId: account, raisedAt: Timestamp(year: 2026, month: 11, day: 20, hour: 10))
    }
}
