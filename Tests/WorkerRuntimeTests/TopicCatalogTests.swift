import Foundation
import Kafka
import Testing

@testable import WorkerRuntime

@Suite struct TopicCatalogTests {
    static var repoCatalog: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("topics/topics.yaml").path
    }

    @Test func theRepositoryCatalogDefinesEveryTopicOfTheBrief() throws {
        let catalog = try TopicCatalog.parse(
            String(contentsOfFile: Self.repoCatalog, encoding: .utf8), file: "topics/topics.yaml")
        let names = Set(catalog.topics.map(\.name))
        for name in [
            "account-events", "account-events-dlt", "ingest-scorer-state", "health-scores", "evaluator-state",
            "alerts", "alerts-retry-1", "alerts-dlt", "alerts-delivered",
        ] {
            #expect(names.contains(name), "\(name) is not defined")
        }
        for t in catalog.topics {
            #expect(t.configs["cleanup.policy"] != nil, "\(t.name) has no cleanup.policy")
            #expect(t.configs["min.insync.replicas"] == "2", "\(t.name) min.insync.replicas")
            #expect(t.replicationFactor == 3)
        }
        for name in ["ingest-scorer-state", "evaluator-state"] {
            #expect(catalog.topics.first { $0.name == name }?.configs["cleanup.policy"] == "compact")
        }
        // The delivery log is compacted and bounded by time (its dedup horizon).
        #expect(catalog.topics.first { $0.name == "alerts-delivered" }?.configs["cleanup.policy"] == "compact,delete")
        #expect(
            catalog.prefixed("prod.").topics.first { $0.name == "prod.evaluator-state" }?.partitionedLike
                == "prod.health-scores")
    }

    @Test(arguments: [
        ("topics:\n  - name: a\n    partitions: zero\n", "x.yaml:3", "topics[0].partitions"),
        ("topics:\n  - name: a\n    partitions: 3\n    colour: red\n", "x.yaml:4", "topics[0].colour"),
        ("topics:\n  - name: 'bad name'\n    partitions: 3\n", "x.yaml:2", "topics[0].name"),
        (
            "topics:\n  - name: a\n    partitions: 3\n  - name: s\n    partitions: 4\n    partitioned_like: a\n",
            "x.yaml:5", "topics[1].partitions"
        ),
        ("topics:\n  - name: a\n    partitions: 3\n  - name: a\n    partitions: 3\n", "x.yaml:4", "topics[1].name"),
        ("topics: [\n", "x.yaml", "(document)"),
    ])
    func badCatalogsNameFileLineAndKey(yaml: String, location: String, key: String) {
        #expect {
            _ = try TopicCatalog.parse(yaml, file: "x.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(location) && text.contains(key)
        }
    }

    @Test func driftIsReportedAndClassified() {
        let topic = TopicCatalog.Topic(
            name: "alerts", partitions: 12, replicationFactor: 3,
            configs: ["cleanup.policy": "delete", "retention.ms": "604800000"])
        #expect(TopicDrift.compare(topic, actual: nil) == [.missing])
        let same = TopicDescription(
            name: "alerts", partitions: 12, replicationFactor: 3,
            configs: ["cleanup.policy": "delete", "retention.ms": "604800000"])
        #expect(TopicDrift.compare(topic, actual: same).isEmpty)
        let drifted = TopicDescription(
            name: "alerts", partitions: 6, replicationFactor: 1, configs: ["cleanup.policy": "compact"])
        let drift = TopicDrift.compare(topic, actual: drifted)
        #expect(drift.contains(.fewerPartitions(have: 6, want: 12)))
        #expect(drift.contains(.replicationFactor(have: 1, want: 3)))
        #expect(drift.contains(.config(key: "cleanup.policy", have: "compact", want: "delete")))
        #expect(drift.contains(.config(key: "retention.ms", have: nil, want: "604800000")))
        #expect(drift.filter(\.isFixable) == [.fewerPartitions(have: 6, want: 12)])
        #expect(
            TopicDrift.compare(
                topic,
                actual: TopicDescription(name: "alerts", partitions: 24, replicationFactor: 3, configs: same.configs))
                == [.morePartitions(have: 24, want: 12)])
        #expect(TopicDrift.compare(topic, actual: drifted, checkConfigs: false).count == 2)
    }
}
