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
    /// The store's counts by status for `/metrics`, summarised at most once per ``ServerConfiguration/metricsCacheTime``.
    let backlog: PeriodicValue<StoreSummary?>

    init(configuration: ServerConfiguration, dependencies: ServerDependencies, logger: Logger) {
        self.configuration = configuration
        self.dependencies = dependencies
        readiness = ReadinessProbe(store: dependencies.store, check: configuration.readinessCheck,
                                   cacheTime: configuration.readinessCacheTime, logger: logger)
        backlog = PeriodicValue(period: configuration.metricsCacheTime) { [store = dependencies.store] in
            try? await store.summary()
        }
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
        if let summary = await backlog.current() { dependencies.metrics.backlog(summary) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: dependencies.metrics.render())))
    }

    static func json(_ status: HTTPResponse.Status, _ value: [String: String]) -> Response {
        let body = (try? JSONEncoder.triage.encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// A value worked out at most once per `period` however often it is asked: while it is fresh, or while another
/// caller works out the next one, callers get the last value. What keeps a probe or scrape storm from becoming a
/// storm on the store or the LLM endpoint.
final class PeriodicValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var at: ContinuousClock.Instant?
        var refreshing = false
    }

    private let period: Duration
    private let make: @Sendable () async -> Value
    private let state = Mutex(State())

    init(period: Duration, _ make: @escaping @Sendable () async -> Value) {
        self.period = period
        self.make = make
    }

    func current() async -> Value {
        let cached: Value? = state.withLock { state in
            if let value = state.value, let at = state.at, ContinuousClock.now - at < period || state.refreshing {
                return value
            }
            state.refreshing = true
            return nil
        }
        if let cached { return cached }
        let fresh = await make()
        state.withLock { $0 = State(value: fresh, at: .now, refreshing: false) }
        return fresh
    }
}

/// `/readyz`'s checks, run at most once per cache period (``PeriodicValue``). A failing check is logged with its
/// details at each refresh, so at most once per cache period.
struct ReadinessProbe: Sendable {
    struct Result: Sendable {
        var store: String
        var llm: String
        var ready: Bool { store == "ok" && llm != "unavailable" }
    }

    private let cached: PeriodicValue<Result>

    init(store: any QueryStore, check: (@Sendable () async -> String?)?, cacheTime: Duration, logger: Logger) {
        cached = PeriodicValue(period: cacheTime) {
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
            return result
        }
    }

    /// The last result while it is fresh (or while another caller refreshes it); otherwise a new one.
    func current() async -> Result { await cached.current() }
}
