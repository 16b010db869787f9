// swift-tools-version: 6.1
// Swift 6 language mode: complete strict concurrency checking is on for every target.
import PackageDescription

/// `FLEET_GIT_COMMIT` (the Dockerfile's `ARG GIT_COMMIT`, or `FLEET_GIT_COMMIT=$(git rev-parse HEAD)
/// swift build`) becomes the commit that `--version` and `fleet_build_info` show. Only hex digits are
/// kept (at most 40), so the define can never break the C string it lands in.
let buildCommitDefine: [CSetting] = {
    let commit = String((Context.environment["FLEET_GIT_COMMIT"] ?? "").filter(\.isHexDigit).prefix(40))
    return commit.isEmpty ? [] : [.define("FLEET_GIT_COMMIT", to: "\"\(commit)\"")]
}()

let package = Package(
    name: "account-health-fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fleet-admin", targets: ["fleet-admin"]),
        .executable(name: "ingest-scorer", targets: ["ingest-scorer"]),
        .executable(name: "evaluator", targets: ["evaluator"]),
        .executable(name: "dispatcher", targets: ["dispatcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // C modules over the Debian libraries.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // The one way blocking C work runs: threads of its own, never the cooperative pool.
        .target(name: "BlockingWork"),

        // The git commit of the build (FLEET_GIT_COMMIT at build time, see `buildCommitDefine`).
        .target(name: "CBuildInfo", cSettings: buildCommitDefine),

        // The record contracts between the stages (pure, no I/O).
        .target(name: "Contracts"),

        // The Kafka layer: producer, consumer, admin, local mock broker.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka", "BlockingWork",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // The worker runtime shared by the three stages.
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Kafka", "Contracts", "BlockingWork", "CBuildInfo",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // Pure domain cores.
        .target(
            name: "HealthModel",
            dependencies: [
                "Contracts",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "AlertRules",
            dependencies: [
                "Contracts",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "SlackDelivery",
            dependencies: [
                "Contracts",
                "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]),

        // Input topics by format (native, Debezium, Segment, JSON mappings) normalised to account events (pure).
        .target(
            name: "EventInputs",
            dependencies: [
                "Contracts", "HealthModel",
                .product(name: "Yams", package: "Yams"),
            ]),

        // The fleet's configuration checked across files (scoring, rules, destinations, environment).
        .target(
            name: "FleetConfig",
            dependencies: [
                "AlertRules", "SlackDelivery", "HealthModel",
                .product(name: "Yams", package: "Yams"),
            ]),
        // History: backtests (events -> scores -> alerts in event time, what-if comparisons, the HTML
        // report) and the precision of rules from feedback and outcomes (pure, no I/O).
        .target(name: "Backtest", dependencies: ["Contracts", "HealthModel", "AlertRules"]),

        // A local HTTP server that answers like Slack's incoming webhooks (tests, benchmarks, the demo sink).
        .target(
            name: "SlackSink",
            dependencies: [
                "Contracts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),

        // The stages' processors on the worker runtime (thin adapters over the domain cores).
        .target(
            name: "Stages",
            dependencies: [
                "Contracts", "Kafka", "WorkerRuntime", "HealthModel", "AlertRules", "SlackDelivery", "FleetConfig",
                "EventInputs",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]),

        // Operations on a running fleet: dead letters (inspect, replay) and the delivery log, read
        // from the cluster without a consumer group.
        .target(
            name: "FleetOps",
            dependencies: [
                "Contracts", "Kafka", "WorkerRuntime", "BlockingWork", "AlertRules",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // The three stages as the executables that ship: each a short main over its stage factory.
        .executableTarget(name: "ingest-scorer", dependencies: ["Stages"]),
        .executableTarget(name: "evaluator", dependencies: ["Stages"]),
        .executableTarget(name: "dispatcher", dependencies: ["Stages"]),

        // The benchmark's baseline: the pass-through loop written in C against librdkafka.
        .target(name: "CPassThrough", dependencies: ["CRdKafka"]),

        // The admin executable: local broker, topics, benchmarks, replay, rules tests, send-test.
        .executableTarget(
            name: "fleet-admin",
            dependencies: [
                "Contracts", "Kafka", "WorkerRuntime", "HealthModel", "AlertRules", "SlackDelivery", "SlackSink",
                "Stages", "CRdKafka", "CPassThrough", "FleetConfig", "Backtest", "FleetOps", "BlockingWork",
                "EventInputs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),

        // A minimal worker on the runtime, driven as a separate process by the runtime's tests.
        .executableTarget(name: "worker-probe", dependencies: ["WorkerRuntime", "Kafka"], path: "Tests/WorkerProbe"),

        // A produce/consume and worker cycle that scripts/leak-check runs under LeakSanitizer.
        .executableTarget(name: "leak-check", dependencies: ["Kafka", "WorkerRuntime"], path: "Tests/LeakCheck"),

        .testTarget(name: "ContractsTests", dependencies: ["Contracts", "TestSupport"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "CRdKafka"]),
        // Helpers shared by the tests: a child's log lines, HTTP GET, bounded waits, the lane for long
        // synchronous work (CPULane).
        .target(name: "TestSupport", dependencies: ["Contracts"], path: "Tests/TestSupport"),
        .testTarget(
            name: "WorkerRuntimeTests",
            dependencies: [
                "WorkerRuntime", "Kafka", "Contracts", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .testTarget(name: "HealthModelTests", dependencies: ["HealthModel", "Contracts", "TestSupport"]),
        .testTarget(name: "EventInputsTests", dependencies: ["EventInputs", "HealthModel", "Contracts"]),
        .testTarget(name: "AlertRulesTests", dependencies: ["AlertRules", "Contracts", "HealthModel", "TestSupport"]),
        .testTarget(
            name: "BacktestTests", dependencies: ["Backtest", "AlertRules", "HealthModel", "Contracts", "TestSupport"]),
        .testTarget(name: "DemoTests"),
        .testTarget(
            name: "StagesTests",
            dependencies: [
                "Stages", "WorkerRuntime", "HealthModel", "AlertRules", "Contracts", "Kafka", "SlackDelivery",
                "TestSupport", .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]),
        // The fleet end to end: broker, the three stage executables as processes, a Slack-like sink with faults.
        .testTarget(
            name: "FleetTests",
            dependencies: [
                "Kafka", "Contracts", "SlackSink", "WorkerRuntime", "HealthModel", "TestSupport", "SlackDelivery",
            ]),
        .testTarget(
            name: "FleetOpsTests",
            dependencies: ["FleetOps", "Stages", "WorkerRuntime", "Kafka", "Contracts", "AlertRules"]),
        .testTarget(
            name: "SlackDeliveryTests", dependencies: ["SlackDelivery", "SlackSink", "Contracts", "TestSupport"]),
        .testTarget(
            name: "FleetConfigTests", dependencies: ["FleetConfig", "AlertRules", "SlackDelivery", "HealthModel"]),
    ]
)

// libFuzzer targets over every decoder of outside bytes (Fuzz/): built only by scripts/fuzz, which
// sets FLEET_FUZZ=1 and builds in its own path with coverage instrumentation and libFuzzer linked in.
if Context.environment["FLEET_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .executableTarget(
            name: "fleet-fuzz",
            dependencies: [
                "CFuzzerDriver", "Contracts", "Kafka", "WorkerRuntime", "HealthModel", "AlertRules", "SlackDelivery",
                "Stages", "EventInputs",
            ], path: "Fuzz/Targets"),
    ]
}
