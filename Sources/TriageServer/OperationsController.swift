import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TriageCore

/// The routes outside `/v1`: the status page's shell, health, readiness, metrics and the OpenAPI document. Each is
/// open unless the operator protects it (`--protect`), in which case it is mounted in the group that checks keys.
struct OperationsController: Sendable {
    /// Every route this controller serves: what `--protect` may name.
    static let paths = ["/", "/healthz", "/readyz", "/metrics", "/openapi.json"]

    let configuration: ServerConfiguration
    let dependencies: ServerDependencies
    let readiness: ReadinessProbe

    init(configuration: ServerConfiguration, dependencies: ServerDependencies, logger: Logger) {
        self.configuration = configuration
        self.dependencies = dependencies
        readiness = ReadinessProbe(store: dependencies.store, check: configuration.readinessCheck,
                                   cacheTime: configuration.readinessCacheTime, logger: logger)
    }

    /// Mounts each route on `open`, or on `keyed` when `protected` names it.
    func addRoutes(open: Router<BasicRequestContext>, keyed: RouterGroup<BasicRequestContext>, protected: Set<String>) {
        func mount(_ path: String, _ handler: @escaping @Sendable () async throws -> Response) {
            if protected.contains(path) {
                keyed.get(RouterPath(path)) { _, _ in try await handler() }
            } else {
                open.get(RouterPath(path)) { _, _ in try await handler() }
            }
        }
        mount("/") { StatusPage.shell() }
        mount("/healthz") { Self.json(.ok, ["status": "ok"]) }
        mount("/readyz") { try await readyz() }
        mount("/metrics") { try await metrics() }
        mount("/openapi.json") {
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }

    /// Ready or not, and which check failed; never the failure's details (hosts, driver messages), which go to
    /// the log for the operator.
    func readyz() async throws -> Response {
        let result = await readiness.current()
        return Self.json(result.ready ? .ok : .serviceUnavailable, [
            "status": result.ready ? "ready" : "not ready", "store": result.store, "llm": result.llm,
        ])
    }

    func metrics() async throws -> Response {
        if let summary = try? await dependencies.store.summary() { dependencies.metrics.backlog(summary) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: dependencies.metrics.render())))
    }

    static func json(_ status: HTTPResponse.Status, _ value: [String: String]) -> Response {
        let body = (try? JSONEncoder.triage.encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// `/readyz`'s checks, run at most once per cache period however often it is asked (a probe storm must not become a
/// storm on the store or the LLM endpoint). A failing check is logged with its details at each refresh, so at most
/// once per cache period.
final class ReadinessProbe: Sendable {
    struct Result: Sendable {
        var store: String
        var llm: String
        var ready: Bool { store == "ok" && llm != "unavailable" }
    }

    private struct Cache {
        var result: Result?
        var at: ContinuousClock.Instant?
        var refreshing = false
    }

    private let store: any QueryStore
    private let check: (@Sendable () async -> String?)?
    private let cacheTime: Duration
    private let logger: Logger
    private let cache = Mutex(Cache())

    init(store: any QueryStore, check: (@Sendable () async -> String?)?, cacheTime: Duration, logger: Logger) {
        self.store = store
        self.check = check
        self.cacheTime = cacheTime
        self.logger = logger
    }

    /// The last result while it is fresh (or while another caller refreshes it); otherwise a new one.
    func current() async -> Result {
        let cached: Result? = cache.withLock { cache in
            if let result = cache.result, let at = cache.at,
               ContinuousClock.now - at < cacheTime || cache.refreshing {
                return result
            }
            cache.refreshing = true
            return nil
        }
        if let cached { return cached }
        var result = Result(store: "ok", llm: check == nil ? "not checked" : "ok")
        do {
            _ = try await store.eligibleCount(now: Date())
        } catch {
            result.store = "unavailable"
            logger.warning("readiness: the store does not answer", metadata: ["error": "\(error)"])
        }
        if let check, let problem = await check() {
            result.llm = "unavailable"
            logger.warning("readiness: the LLM endpoint does not answer", metadata: ["error": "\(problem)"])
        }
        let fresh = result
        cache.withLock { $0 = Cache(result: fresh, at: .now, refreshing: false) }
        return fresh
    }
}
