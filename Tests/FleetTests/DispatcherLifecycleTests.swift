import Contracts
import Foundation
import TestSupport
import Testing

/// Issue 23: one `ServiceGroup` per executable. The dispatcher's parts (the feedback ledger, the
/// Slack deliverer, the health listener, the worker, the feedback listener) start in that order
/// and, on SIGTERM, stop in the reverse one, each after the one started after it has finished.
@Suite(.serialized) struct DispatcherLifecycleTests {
    @Test func aSigtermStopsEveryPartInOrderCommitsAndExitsZero() async throws {
        let fleet = try await FleetHarness(destinations: ["fb"])
        let dispatcher = try StageProcess("dispatcher", env: fleet.dispatcherEnv(FeedbackProcessTests.feedbackEnv))
        defer { dispatcher.stopWithoutWaiting() }
        _ = try #require(
            await FeedbackProcessTests.feedbackPort(dispatcher),
            "no feedback port logged:\n\(dispatcher.log.suffix(2000))")
        let alerts = (1...3).map { FleetHarness.alert($0, destination: "fb", tag: "lifecycle") }
        try await fleet.produce(alerts)
        let delivered = await fleet.waitForDeliveries(timeout: .seconds(60), watching: [dispatcher]) { done in
            alerts.allSatisfy { done["fb"]?[$0.alertId] != nil }
        }
        #expect(delivered, "the alerts were not delivered:\n\(dispatcher.log.suffix(2000))")

        let status = await dispatcher.stop()
        let log = dispatcher.log
        #expect(status == 0, "exit status \(status):\n\(log.suffix(3000))")
        let order = [
            "feedback listener stopped", "worker stopped", "health listener stopped", "slack deliverer stopped",
            "feedback ledger stopped",
        ]
        let positions = order.map { log.range(of: $0)?.lowerBound }
        #expect(
            positions.allSatisfy { $0 != nil },
            "missing: \(zip(order, positions).filter { $0.1 == nil }.map(\.0))\n\(log.suffix(3000))")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "stopped out of order:\n\(log.suffix(3000))")
        // Everything read was committed before it left: nothing lost, nothing for the next member
        // to read again; and each alert was posted once.
        #expect(try fleet.lag(group: "dispatcher", topic: "alerts", partitions: 12) == 0)
        #expect(alerts.allSatisfy { fleet.delivered()["fb"]?[$0.alertId] == 1 })
        await fleet.shutdown()
    }
}
