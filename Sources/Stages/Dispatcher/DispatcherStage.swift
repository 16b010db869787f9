import AlertRules
import Contracts
import FleetConfig
import Kafka
import Logging
import SlackDelivery
import WorkerRuntime

/// Builds the `dispatcher` worker: `alerts` with its co-partitioned followers `alerts-retry-1..3`,
/// the per-destination schedule in `dispatcher-state`, the delivery log `alerts-delivered`,
/// dead letters to `alerts-dlt` (all with `TOPIC_PREFIX`), posting through one libcurl engine with
/// a token bucket per destination. With `FEEDBACK_BASE_URL` and `FEEDBACK_SECRET` its messages carry
/// signed "Useful" / "Not useful" buttons, and its feedback listener (`FEEDBACK_PORT`, apart from
/// the health port) serves `/feedback`, recording each verdict to `alert-feedback` (see
/// `FeedbackSettings`, `FeedbackEndpoint`). With `SLACK_SIGNING_SECRET` its messages carry the
/// lifecycle buttons and the same listener serves `/slack/actions`, recording each verified click
/// to `alert-actions` (see `SlackActionsSettings`, `SlackActionsEndpoint`, docs/actions.md).
public enum DispatcherStage {
    /// The worker and the deliverer it posts through (shut the deliverer down after the worker stopped).
    public struct Built: Sendable {
        public let worker: Worker<DispatcherProcessor>
        public let deliverer: SlackDeliverer
        /// The `/feedback` path when feedback links are on.
        public let feedback: FeedbackEndpoint?
        /// Where the feedback listener binds when feedback links are on.
        public let feedbackSettings: FeedbackSettings?
        /// The `/slack/actions` path when the lifecycle buttons are on.
        public let actions: SlackActionsEndpoint?
        /// The producer of `alert-feedback` and `alert-actions` records when feedback links or the
        /// lifecycle buttons are on (shut it down after
        /// the HTTP server stopped).
        public let feedbackProducer: KafkaProducer?
        /// The reader of `alert-feedback` feeding the replay guard when feedback links are on (not
        /// started: the service group starts it first and stops it after the HTTP listeners).
        public let feedbackLedger: FeedbackLedger?

        /// Where the feedback listener binds (`FEEDBACK_HOST`, `FEEDBACK_PORT`).
        public let listenerAddress: (host: String, port: Int)
        /// Its limits when the lifecycle buttons are on (a larger body), else nil.
        let listenerLimits: HTTPLimits?

        /// The listeners beside the health port: the feedback listener when feedback links or the
        /// lifecycle buttons are on.
        public var listeners: [HTTPListenerSpec] {
            let routes = [feedback?.route, actions?.route].compactMap { $0 }
            guard !routes.isEmpty else { return [] }
            return [
                HTTPListenerSpec(
                    name: "feedback", host: listenerAddress.host, port: listenerAddress.port, routes: routes,
                    limits: listenerLimits)
            ]
        }
    }

    /// The worker for `settings`, with the destinations of `DESTINATIONS_FILE` (required) and the
    /// rules of `RULES_FILE` (optional: its destinations' quiet hours and digests apply where the
    /// destinations file sets none). Throws `StageStartError` with every problem.
    /// Wall time is read from `clock` (tests pass a `ManualClock`'s).
    public static func make(
        settings: WorkerSettings, env: [String: String], logger: Logger, clock: WallClock = .system
    ) throws(StageStartError)
        -> Built
    {
        let config: FleetConfiguration
        switch FleetStage.dispatcher.loadConfiguration(env: env) {
        case .success(let c): config = c
        case .failure(let error): throw StageStartError(error.problems)
        }
        guard let destinations = config.destinations else {
            throw StageStartError([
                ConfigProblem(
                    file: "environment", line: nil, key: "DESTINATIONS_FILE",
                    message: "missing: the dispatcher needs a destinations file")
            ])
        }
        let own: DispatcherSettings
        let feedback: FeedbackSettings?
        let actionSettings: SlackActionsSettings?
        let listenerPort: Int
        let tick: Duration
        do {
            own = try DispatcherSettings.fromEnvironment(env)
            feedback = try FeedbackSettings.fromEnvironment(env)
            actionSettings = try SlackActionsSettings.fromEnvironment(env)
            listenerPort = try FeedbackSettings.listenerPort(env)
            tick = try FleetStage.dispatcher.tickInterval(env: env)
        } catch {
            throw StageStartError(error)
        }
        var engine = EngineSettings()
        engine.totalTimeoutMilliseconds = own.postTimeoutMs
        engine.maxInFlight = own.maxInFlight
        var renderer = SlackMessageRenderer(feedback: feedback?.signer)
        if actionSettings != nil { renderer.actions = AlertActionsBlock() }
        let deliverer: SlackDeliverer
        do {
            deliverer = try SlackDeliverer(
                destinations: destinations.destinations, settings: engine,
                renderer: renderer, logger: logger)
        } catch {
            throw StageStartError([
                ConfigProblem(
                    file: env["DESTINATIONS_FILE"] ?? "destinations", line: nil, key: "destinations",
                    message: "\(error)")
            ])
        }
        let topics = DispatcherTopics(prefix: settings.topicPrefix)
        var endpoint: FeedbackEndpoint?
        var feedbackProducer: KafkaProducer?
        var feedbackLedger: FeedbackLedger?
        var actionsEndpoint: SlackActionsEndpoint?
        if feedback != nil || actionSettings != nil {
            do {
                feedbackProducer = try KafkaProducer(
                    configuration: settings.producerConfiguration, name: "feedback-producer", logger: logger)
            } catch {
                throw StageStartError([
                    ConfigProblem(
                        file: "environment", line: nil, key: "KAFKA_*", message: "feedback producer: \(error)")
                ])
            }
        }
        if let actionSettings, let producer = feedbackProducer {
            actionsEndpoint = SlackActionsEndpoint(
                verifier: actionSettings.verifier, logger: logger,
                recorder: SlackActionsEndpoint.kafkaRecorder(producer: producer, topic: topics.actions))
            logger.info("slack actions on", metadata: ["settings": "\(actionSettings)"])
        }
        if let feedback, let producer = feedbackProducer {
            // Every replica reads every verdict back: a link used anywhere, before or after a
            // restart, is a replay here too.
            let ledger = FeedbackLedger(
                topic: topics.feedback, configuration: settings.kafka.merging(settings.consumerOverrides),
                logger: logger)
            let built = FeedbackEndpoint(
                signer: feedback.signer, logger: logger, clock: clock, catchUp: { ledger.whenCaughtUp($0) },
                recorder: FeedbackEndpoint.kafkaRecorder(producer: producer, topic: topics.feedback))
            endpoint = built
            feedbackLedger = ledger
            logger.info("feedback links on", metadata: ["settings": "\(feedback)"])
        } else if !(env["FEEDBACK_SECRET"] ?? "").isEmpty {
            logger.warning("FEEDBACK_SECRET is set without FEEDBACK_BASE_URL: no feedback buttons")
        }
        let readerConfig = settings.kafka.merging(settings.consumerOverrides)
        let readerLogger = logger
        let processor = DispatcherProcessor(
            deliverer: deliverer, schedule: DestinationSchedule(policies: config.destinationPolicies), settings: own,
            topics: topics, logger: logger, clock: clock,
            readLog: { partition in
                try DeliveryLogReader.readSnapshot(
                    topic: topics.delivered, partition: partition, configuration: readerConfig, logger: readerLogger,
                    clock: clock)
            })
        let topology = WorkerTopology(
            inputs: [topics.alerts] + topics.retries, changelog: topics.state, deadLetter: topics.deadLetter,
            outputs: [topics.alerts, topics.delivered] + topics.retries)
        return Built(
            worker: Worker(
                settings: settings, topology: topology, processor: processor, logger: logger, tickInterval: tick,
                clock: clock),
            deliverer: deliverer, feedback: endpoint, feedbackSettings: feedback, actions: actionsEndpoint,
            feedbackProducer: feedbackProducer, feedbackLedger: feedbackLedger,
            listenerAddress: (
                feedback?.host ?? env["FEEDBACK_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? env["HTTP_HOST"]
                    ?? "0.0.0.0",
                feedback?.port ?? listenerPort
            ),
            listenerLimits: actionSettings.map { _ in
                var limits = settings.httpLimits
                limits.maxBodyBytes = max(limits.maxBodyBytes, SlackActionsSettings.maxBodyBytes)
                return limits
            })
    }
}
