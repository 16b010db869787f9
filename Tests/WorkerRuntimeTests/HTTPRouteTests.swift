import Dispatch
import Foundation
import Testing

@testable import WorkerRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A stage's own route on the worker's HTTP port, answered later from another thread (as the
/// dispatcher's `/feedback` answers once the broker acknowledged its record).
@Suite struct HTTPRouteTests {
    static func get(_ url: String) async throws -> (status: Int, body: String, headers: [AnyHashable: Any]) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(from: URL(string: url)!)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.allHeaderFields ?? [:])
    }

    @Test func aRouteAnswersFromAnotherThreadBesideHealth() async throws {
        let route = HTTPRoute(path: "/feedback") { method, query, reply in
            DispatchQueue.global().async {
                reply(
                    HTTPReply(status: 201, contentType: "text/html; charset=utf-8", body: "<p>\(method) \(query)</p>"))
            }
        }
        let server = try await HealthServer(
            host: "127.0.0.1", port: 0,
            status: { WorkerStatus(live: true, ready: true, assigned: [], detail: "test") },
            metrics: { "m 1\n" }, routes: [route])
        let answer = try await Self.get("http://127.0.0.1:\(server.port)/feedback?a=1&v=useful")
        #expect(answer.status == 201)
        #expect(answer.body == "<p>GET a=1&v=useful</p>")
        #expect((answer.headers["Cache-Control"] ?? answer.headers["cache-control"]) as? String == "no-store")
        let slash = try await Self.get("http://127.0.0.1:\(server.port)/feedback/?x")
        #expect(slash.status == 201)
        #expect(try await Self.get("http://127.0.0.1:\(server.port)/healthz").status == 200)
        #expect(try await Self.get("http://127.0.0.1:\(server.port)/metrics").body == "m 1\n")
        #expect(try await Self.get("http://127.0.0.1:\(server.port)/feedbackx").status == 404)
        await server.shutdown()
    }
}
