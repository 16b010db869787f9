import Kafka
import Yams

/// The fleet's topic definitions (`topics/topics.yaml`): partitions, replication, configs.
public struct TopicCatalog: Sendable {
    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        public var replicationFactor: Int
        public var configs: [String: String]
        /// The input topic this changelog mirrors partition by partition.
        public var partitionedLike: String?
    }

    public var topics: [Topic]

    /// Parses a catalog; errors name the file, the key path with its line, and the problem.
    public static func parse(_ text: String, file: String) throws(WorkerError) -> TopicCatalog {
        func fail(_ key: String, _ node: Node?, _ reason: String) -> WorkerError {
            .configuration(
                source: node.map { "\(file):\($0.mark.map { "\($0.line)" } ?? "?")" } ?? file, key: key, reason: reason)
        }
        let root: Node
        do {
            guard let parsed = try Yams.compose(yaml: text) else { throw fail("(document)", nil, "empty file") }
            root = parsed
        } catch let error as WorkerError {
            throw error
        } catch {
            throw fail("(document)", nil, "not valid YAML: \(error)")
        }
        guard let top = root.mapping else { throw fail("(document)", root, "expected a mapping with `topics`") }
        for key in top.keys.compactMap(\.string) where !["defaults", "topics"].contains(key) {
            throw fail(key, top[key], "unknown key (expected defaults, topics)")
        }
        var defaultReplication = 3
        var defaultConfigs: [String: String] = [:]
        if let defaults = top["defaults"] {
            guard let d = defaults.mapping else { throw fail("defaults", defaults, "expected a mapping") }
            if let rf = d["replication_factor"] {
                guard let v = rf.int, v >= 1 else {
                    throw fail("defaults.replication_factor", rf, "expected a whole number >= 1")
                }
                defaultReplication = v
            }
            if let configs = d["configs"] { defaultConfigs = try stringMap(configs, key: "defaults.configs", fail) }
        }
        guard let list = top["topics"]?.sequence else {
            throw fail("topics", top["topics"] ?? root, "expected a list of topics")
        }
        var topics: [Topic] = []
        for (i, node) in list.enumerated() {
            let path = "topics[\(i)]"
            guard let t = node.mapping else { throw fail(path, node, "expected a mapping") }
            for key in t.keys.compactMap(\.string)
            where !["name", "partitions", "replication_factor", "configs", "partitioned_like"].contains(key) {
                throw fail(
                    "\(path).\(key)", t[key],
                    "unknown key (expected name, partitions, replication_factor, configs, partitioned_like)")
            }
            guard let name = t["name"]?.string, !name.isEmpty else {
                throw fail("\(path).name", t["name"] ?? node, "missing")
            }
            guard name.utf8.count <= 200,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else {
                throw fail("\(path).name", t["name"], "\"\(name)\" is not a valid topic name (letters, digits, . _ -)")
            }
            guard let partitionsNode = t["partitions"], let partitions = partitionsNode.int, partitions >= 1 else {
                throw fail("\(path).partitions", t["partitions"] ?? node, "expected a whole number >= 1")
            }
            var replication = defaultReplication
            if let rf = t["replication_factor"] {
                guard let v = rf.int, v >= 1 else {
                    throw fail("\(path).replication_factor", rf, "expected a whole number >= 1")
                }
                replication = v
            }
            var configs = defaultConfigs
            if let c = t["configs"] { configs.merge(try stringMap(c, key: "\(path).configs", fail)) { _, new in new } }
            if topics.contains(where: { $0.name == name }) {
                throw fail("\(path).name", t["name"], "\"\(name)\" is defined twice")
            }
            topics.append(
                Topic(
                    name: name, partitions: partitions, replicationFactor: replication, configs: configs,
                    partitionedLike: t["partitioned_like"]?.string))
        }
        for (i, topic) in topics.enumerated() {
            guard let like = topic.partitionedLike else { continue }
            guard let input = topics.first(where: { $0.name == like }) else {
                throw fail(
                    "topics[\(i)].partitioned_like", list[i].mapping?["partitioned_like"], "no topic named \"\(like)\"")
            }
            if input.partitions != topic.partitions {
                throw fail(
                    "topics[\(i)].partitions", list[i].mapping?["partitions"],
                    "\(topic.name) has \(topic.partitions) partitions but mirrors \(like) with \(input.partitions)")
            }
        }
        return TopicCatalog(topics: topics)
    }

    private static func stringMap(_ node: Node, key: String, _ fail: (String, Node?, String) -> WorkerError)
        throws(WorkerError) -> [String: String]
    {
        guard let m = node.mapping else { throw fail(key, node, "expected a mapping of Kafka topic configs") }
        var out: [String: String] = [:]
        for (k, v) in m {
            guard let name = k.string, let value = v.scalar?.string else {
                throw fail(key, v, "expected `name: value` pairs")
            }
            out[name] = value
        }
        return out
    }

    /// The catalog with `prefix` before every name.
    public func prefixed(_ prefix: String) -> TopicCatalog {
        TopicCatalog(
            topics: topics.map { t in
                var t = t
                t.name = prefix + t.name
                t.partitionedLike = t.partitionedLike.map { prefix + $0 }
                return t
            })
    }
}

/// How a cluster's topic differs from its definition.
public enum TopicDrift: Sendable, Hashable, CustomStringConvertible {
    case missing
    case fewerPartitions(have: Int, want: Int)
    /// Kafka cannot shrink a topic: recreate it or change the definition.
    case morePartitions(have: Int, want: Int)
    case replicationFactor(have: Int, want: Int)
    case config(key: String, have: String?, want: String)

    public var description: String {
        switch self {
        case .missing: "missing"
        case .fewerPartitions(let have, let want): "partitions \(have) < \(want) (apply adds them)"
        case .morePartitions(let have, let want): "partitions \(have) > \(want) (Kafka cannot remove partitions)"
        case .replicationFactor(let have, let want):
            "replication factor \(have), defined \(want) (reassign partitions to change it)"
        case .config(let key, let have, let want): "\(key) = \(have ?? "(broker default)"), defined \(want)"
        }
    }

    /// Whether `topics apply` can fix it.
    public var isFixable: Bool {
        switch self {
        case .missing, .fewerPartitions: true
        default: false
        }
    }

    /// Compares a definition with what the cluster reports; `checkConfigs` is false where the
    /// broker cannot describe configs.
    public static func compare(_ topic: TopicCatalog.Topic, actual: TopicDescription?, checkConfigs: Bool = true)
        -> [TopicDrift]
    {
        guard let actual else { return [.missing] }
        var drift: [TopicDrift] = []
        if actual.partitions < topic.partitions {
            drift.append(.fewerPartitions(have: actual.partitions, want: topic.partitions))
        }
        if actual.partitions > topic.partitions {
            drift.append(.morePartitions(have: actual.partitions, want: topic.partitions))
        }
        if actual.replicationFactor != topic.replicationFactor {
            drift.append(.replicationFactor(have: actual.replicationFactor, want: topic.replicationFactor))
        }
        if checkConfigs {
            for key in topic.configs.keys.sorted() where actual.configs[key] != topic.configs[key] {
                drift.append(.config(key: key, have: actual.configs[key], want: topic.configs[key]!))
            }
        }
        return drift
    }
}
