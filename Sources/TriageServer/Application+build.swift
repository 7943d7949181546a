import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import TriageCore
import TriageProcessor

/// Everything the application serves from, injected.
public struct ServerDependencies: Sendable {
    public var store: any QueryStore
    public var classifier: any Classifier
    public var httpClient: HTTPClient
    public var metrics: TriageMetrics

    public init(store: any QueryStore, classifier: any Classifier, httpClient: HTTPClient,
                metrics: TriageMetrics = TriageMetrics()) {
        self.store = store
        self.classifier = classifier
        self.httpClient = httpClient
        self.metrics = metrics
    }
}

/// The HTTP application: the API, the workers and the run manager, run together by swift-service-lifecycle.
///
/// - Parameter onListening: Called with the port once the server listens (useful with port 0).
public func buildApplication(
    configuration: ServerConfiguration, dependencies: ServerDependencies, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let runs = RunManager(store: dependencies.store, classifier: dependencies.classifier, configuration: configuration,
                          metrics: dependencies.metrics, httpClient: dependencies.httpClient, logger: logger)
    let router = buildRouter(configuration: configuration, dependencies: dependencies, runs: runs)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "triage"),
        services: [runs],
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The routes, as `GET /openapi.json` documents them.
func buildRouter(
    configuration: ServerConfiguration, dependencies: ServerDependencies, runs: RunManager
) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys, protectedPaths: configuration.protectedPaths))
    let api = APIController(configuration: configuration, dependencies: dependencies, runs: runs)
    api.addRoutes(to: router)
    return router
}

/// The handlers; each delegates to the store, the classifier or the run manager.
struct APIController: Sendable {
    let configuration: ServerConfiguration
    let dependencies: ServerDependencies
    let runs: RunManager

    var store: any QueryStore { dependencies.store }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in try await statusPage() }
        router.get("/healthz") { _, _ in JSONResponse(value: ["status": "ok"]) }
        router.get("/readyz") { _, _ in try await readiness() }
        router.get("/metrics") { _, _ in try await metrics() }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.post("/v1/classify") { request, _ in try await classify(request) }
        router.post("/v1/queries") { request, _ in try await ingest(request) }
        router.get("/v1/queries") { request, _ in try await listQueries(request) }
        router.get("/v1/queries/{id}") { _, context in try await query(context.parameters.require("id")) }
        router.post("/v1/runs") { request, _ in try await startRun(request) }
        router.get("/v1/runs") { request, _ in try await listRuns(request) }
        router.get("/v1/runs/{id}") { _, context in try await run(context.parameters.require("id")) }
        router.post("/v1/runs/{id}/cancel") { _, context in try await cancelRun(context.parameters.require("id")) }
        router.get("/v1/stats") { _, _ in JSONResponse(value: try await store.summary()) }
    }

    // MARK: Classification and queries

    /// A query as `POST /v1/classify` and `POST /v1/queries` take it.
    struct QueryBody: Decodable {
        var text: String
        var subject: String?
        var channel: String?
        var customerId: String?
        var externalId: String?
        var createdAt: Date?
        var metadata: [String: String]?

        func query() throws -> SupportQuery {
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw HTTPError(.badRequest, message: "field 'text' must not be empty")
            }
            return SupportQuery(text: text, subject: subject, channel: channel, customerId: customerId,
                                externalId: externalId, createdAt: createdAt ?? Date(), metadata: metadata ?? [:])
        }
    }

    /// Classifies one query now; nothing is stored (`POST /v1/queries` stores queries for the workers).
    func classify(_ request: Request) async throws -> JSONResponse<Classification> {
        let buffer = try await RequestBody.collect(request, limit: configuration.maxBodyBytes)
        let query = try RequestBody.decode(QueryBody.self, from: buffer).query()
        let started = ContinuousClock.now
        var classification: Classification
        do {
            classification = try await runs.meteredClassifier.classify(
                ClassificationRequest(id: QueryID("api"), query: query, attempt: 1)
            )
        } catch let error as ClassifierError {
            throw HTTPError(error.scope == .query ? .unprocessableContent : .badGateway,
                            message: "the classifier failed (\(error.kind)): \(error.message)")
        }
        classification.latencyMs = (ContinuousClock.now - started).timeInterval * 1000
        return JSONResponse(value: classification)
    }

    /// One query object, a JSON array of them, or NDJSON (one object per line).
    func ingest(_ request: Request) async throws -> JSONResponse<InsertResult> {
        let buffer = try await RequestBody.collect(request, limit: configuration.maxBodyBytes)
        let text = String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
        var items: [QueryBody] = []
        if text.hasPrefix("[") {
            items = try RequestBody.decode([QueryBody].self, from: buffer)
        } else if request.headers[.contentType]?.contains("ndjson") == true || text.contains("\n") {
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                do {
                    items.append(try RequestBody.decode(QueryBody.self, from: ByteBuffer(string: String(line))))
                } catch let error as HTTPError {
                    throw HTTPError(.badRequest, message: "line \(index + 1): \(error.body ?? "invalid")")
                }
            }
        } else {
            items = [try RequestBody.decode(QueryBody.self, from: buffer)]
        }
        guard !items.isEmpty else { throw HTTPError(.badRequest, message: "no queries in the body") }
        let queries = try items.enumerated().map { index, item in
            do {
                return try item.query()
            } catch let error as HTTPError where items.count > 1 {
                throw HTTPError(.badRequest, message: "query \(index + 1): \(error.body ?? "invalid")")
            }
        }
        let result = try await store.insert(queries)
        return JSONResponse(status: result.inserted > 0 ? .created : .ok, value: result)
    }

    func query(_ id: String) async throws -> JSONResponse<QueryRecord> {
        guard let record = try await store.find(QueryID(id)) else {
            throw HTTPError(.notFound, message: "no query with id '\(id)'")
        }
        return JSONResponse(value: record)
    }

    struct QueryPage: Encodable, Sendable {
        var queries: [QueryRecord]
        /// Pass as `cursor` for the next page; absent on the last.
        var nextCursor: String?
    }

    func listQueries(_ request: Request) async throws -> JSONResponse<QueryPage> {
        let parameters = request.uri.queryParameters
        var filter = QueryFilter()
        if let status = parameters.get("status") {
            guard let value = QueryStatus(rawValue: status) else {
                throw HTTPError(.badRequest, message: "parameter 'status' must be one of "
                                + QueryStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            filter.status = value
        }
        filter.category = parameters.get("category")
        let limit = try Self.limit(parameters.get("limit"), default: 50, maximum: 1000)
        let page = try await store.list(filter, after: parameters.get("cursor").map(QueryID.init), limit: limit)
        return JSONResponse(value: QueryPage(queries: page, nextCursor: page.count == limit ? page.last?.id.rawValue : nil))
    }

    static func limit(_ text: String?, default value: Int, maximum: Int) throws -> Int {
        guard let text else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw HTTPError(.badRequest, message: "parameter 'limit' must be a whole number from 1 to \(maximum)")
        }
        return limit
    }

    // MARK: Runs

    struct Accepted: Encodable, Sendable {
        var id: String
        var state: RunState
        var location: String
    }

    func startRun(_ request: Request) async throws -> JSONResponse<Accepted> {
        let buffer = try await RequestBody.collect(request, limit: configuration.maxBodyBytes)
        let body = buffer.readableBytes == 0 ? RunRequest() : try RequestBody.decode(RunRequest.self, from: buffer)
        for (name, value) in [("batchSize", body.batchSize), ("maxConcurrent", body.maxConcurrent), ("limit", body.limit)] {
            if let value, value < 1 { throw HTTPError(.badRequest, message: "field '\(name)' must be at least 1") }
        }
        if let webhook = body.webhook {
            guard let url = URL(string: webhook), ["http", "https"].contains(url.scheme ?? "") , url.host != nil else {
                throw HTTPError(.badRequest, message: "field 'webhook' must be an http or https URL")
            }
        }
        let id: String
        do {
            id = try runs.start(body)
        } catch is RunManager.ServiceUnavailable {
            throw HTTPError(.serviceUnavailable, message: "the server is shutting down")
        }
        return JSONResponse(status: .accepted, value: Accepted(id: id, state: .running, location: "/v1/runs/\(id)"))
    }

    func run(_ id: String) async throws -> JSONResponse<RunView> {
        if let progress = runs.progress(of: id) {
            return JSONResponse(value: RunView(id: id, state: .running, progress: progress,
                                               etaSeconds: progress.etaSeconds, record: nil))
        }
        guard let record = try await store.run(id) else { throw HTTPError(.notFound, message: "no run with id '\(id)'") }
        return JSONResponse(value: RunView(id: id, state: record.state, progress: nil, etaSeconds: nil, record: record))
    }

    struct RunList: Encodable, Sendable {
        var active: [RunProgress]
        var runs: [RunRecord]
    }

    func listRuns(_ request: Request) async throws -> JSONResponse<RunList> {
        let limit = try Self.limit(request.uri.queryParameters.get("limit"), default: 20, maximum: 500)
        return JSONResponse(value: RunList(active: runs.activeProgress(), runs: try await store.runs(limit: limit)))
    }

    func cancelRun(_ id: String) async throws -> JSONResponse<Accepted> {
        guard runs.cancel(id) else {
            guard try await store.run(id) != nil else { throw HTTPError(.notFound, message: "no run with id '\(id)'") }
            throw HTTPError(.conflict, message: "run '\(id)' is not running")
        }
        return JSONResponse(status: .accepted, value: Accepted(id: id, state: .running, location: "/v1/runs/\(id)"))
    }

    // MARK: Operations

    func readiness() async throws -> Response {
        var problems: [String] = []
        do {
            _ = try await store.eligibleCount(now: Date())
        } catch {
            problems.append("store: \(error)")
        }
        if let check = configuration.readinessCheck, let problem = await check() {
            problems.append("llm: \(problem)")
        }
        let body = try JSONEncoder.triage.encode(["status": problems.isEmpty ? "ready" : "not ready",
                                               "problems": problems.joined(separator: "; ")])
        return Response(status: problems.isEmpty ? .ok : .serviceUnavailable,
                        headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    func metrics() async throws -> Response {
        if let summary = try? await store.summary() { dependencies.metrics.backlog(summary) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: dependencies.metrics.render())))
    }

    func statusPage() async throws -> Response {
        let html = StatusPage.render(summary: try await store.summary(), active: runs.activeProgress(),
                                     recent: try await store.runs(limit: 8))
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
