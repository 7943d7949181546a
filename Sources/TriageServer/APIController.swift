import Foundation
import Hummingbird
import NIOCore
import TriageCore
import TriageProcessor

/// The `/v1` handlers; each delegates to the store, the classifier or the run manager. Mounted on the `/v1` group,
/// which checks the key and the body's type before any of them runs.
struct APIController: Sendable {
    let configuration: ServerConfiguration
    let dependencies: ServerDependencies
    let runs: RunManager

    var store: any QueryStore { dependencies.store }

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("classify") { request, _ in try await classify(request) }
        group.post("queries") { request, _ in try await ingest(request) }
        group.get("queries") { request, _ in try await listQueries(request) }
        group.get("queries/{id}") { _, context in try await query(context.parameters.require("id")) }
        group.post("runs") { request, _ in try await startRun(request) }
        group.get("runs") { request, _ in try await listRuns(request) }
        group.get("runs/{id}") { _, context in try await run(context.parameters.require("id")) }
        group.post("runs/{id}/cancel") { _, context in try await cancelRun(context.parameters.require("id")) }
        group.get("stats") { _, _ in JSONResponse(value: try await store.summary()) }
        group.get("status-page") { _, _ in try await statusPage() }
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
            do {
                return try SupportQuery(validating: text, subject: subject, channel: channel, customerId: customerId,
                                        externalId: externalId, createdAt: createdAt ?? Date(), metadata: metadata ?? [:])
            } catch {
                throw HTTPError(.badRequest, message: error.description)
            }
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
        let queries = try Self.queries(in: buffer, ndjson: request.headers[.contentType]?.contains("ndjson") == true)
        let result = try await store.insert(queries)
        return JSONResponse(status: result.inserted > 0 ? .created : .ok, value: result)
    }

    /// The queries of an ingest body, all or none.
    /// - Throws: `HTTPError` 400 naming the line (NDJSON) or query (array) and the field.
    static func queries(in buffer: ByteBuffer, ndjson: Bool) throws -> [SupportQuery] {
        let text = String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
        var items: [QueryBody] = []
        if text.hasPrefix("[") {
            items = try RequestBody.decode([QueryBody].self, from: buffer)
        } else if ndjson || text.contains("\n") {
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
        return try items.enumerated().map { index, item in
            do {
                return try item.query()
            } catch let error as HTTPError where items.count > 1 {
                throw HTTPError(.badRequest, message: "query \(index + 1): \(error.body ?? "invalid")")
            }
        }
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
        let processor = try body.processorConfiguration(within: configuration.processor)
        if let webhook = body.webhook {
            do {
                try await configuration.webhooks.targetPolicy.check(webhook)
            } catch let refusal as WebhookTargetPolicy.Refusal {
                throw HTTPError(.badRequest, message: refusal.description)
            }
        }
        let id: String
        do {
            id = try runs.start(processor: processor, webhook: body.webhook)
        } catch is RunManager.ServiceUnavailable {
            throw HTTPError(.serviceUnavailable, message: "the server is shutting down")
        } catch is RunManager.TooManyRuns {
            let limit = configuration.maxActiveRuns
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: "5"], message: """
                \(limit) run\(limit == 1 ? " is" : "s are") running, the most this server runs at once; \
                try again when one ends
                """)
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

    /// The status page's content, rendered here so that it is as private as the rest of `/v1`; `GET /` is the
    /// shell that fetches it with the key the person typed.
    func statusPage() async throws -> Response {
        let html = StatusPage.renderContent(
            summary: try await store.summary(), active: runs.activeProgress(), recent: try await store.runs(limit: 8),
            openToAll: configuration.apiKeys.isEmpty && configuration.allowUnauthenticated
        )
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}

extension RunRequest {
    /// The operator's processor configuration, lowered where the request asks: a client may ask for less
    /// concurrency, smaller claims or fewer queries, never more.
    /// - Throws: `HTTPError` 400 naming the field and the most it may be.
    func processorConfiguration(within base: BatchProcessor.Configuration) throws -> BatchProcessor.Configuration {
        var processor = base
        processor.batchSize = try Self.lowered("batchSize", batchSize, ceiling: base.batchSize)
        processor.maxConcurrent = try Self.lowered("maxConcurrent", maxConcurrent, ceiling: base.maxConcurrent)
        if let limit {
            processor.limit = try Self.lowered("limit", limit, ceiling: base.limit ?? Int.max)
        }
        processor.continuous = false
        return processor
    }

    private static func lowered(_ name: String, _ value: Int?, ceiling: Int) throws -> Int {
        guard let value else { return ceiling }
        guard value >= 1 else { throw HTTPError(.badRequest, message: "field '\(name)' must be at least 1") }
        guard value <= ceiling else {
            throw HTTPError(.badRequest, message: "field '\(name)' may be at most \(ceiling), the server's setting")
        }
        return value
    }
}
