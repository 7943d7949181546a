import Foundation
import Hummingbird
import NIOCore
import TriageCore

/// `/v1/classify` and `/v1/queries`: classify one query now, store queries for the workers, list and read them.
struct QueriesController: Sendable {
    let store: any QueryStore
    /// The application's classifier, metered.
    let classifier: any Classifier
    let maxBodyBytes: Int

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("classify") { request, _ in try await classify(request) }
        group.post("queries") { request, _ in try await ingest(request) }
        group.get("queries") { request, _ in try await listQueries(request) }
        group.get("queries/{id}") { _, context in try await query(context.parameters.require("id")) }
    }

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
                return try SupportQuery(text: text, subject: subject, channel: channel, customerId: customerId,
                                        externalId: externalId, createdAt: createdAt ?? Date(), metadata: metadata ?? [:])
                    .validated()
            } catch {
                throw HTTPError(.badRequest, message: error.description)
            }
        }
    }

    /// Classifies one query now; nothing is stored (`POST /v1/queries` stores queries for the workers).
    func classify(_ request: Request) async throws -> JSONResponse<Classification> {
        let buffer = try await RequestBody.collect(request, limit: maxBodyBytes)
        let query = try RequestBody.decode(QueryBody.self, from: buffer).query()
        let started = ContinuousClock.now
        var classification: Classification
        do {
            classification = try await classifier.classify(
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
        let buffer = try await RequestBody.collect(request, limit: maxBodyBytes)
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
        let limit = try RequestParameters.limit(parameters.get("limit"), default: 50, maximum: 1000)
        let page = try await store.list(filter, after: parameters.get("cursor").map(QueryID.init), limit: limit)
        return JSONResponse(value: QueryPage(queries: page, nextCursor: page.count == limit ? page.last?.id.rawValue : nil))
    }

}
