import Foundation
import Hummingbird
import NIOCore
import TriageCore

/// `/v1/classify` and `/v1/queries`: classify one query now, store queries for the workers, list and read them, and
/// record a person's correction of one.
struct QueriesController: Sendable {
    let store: any QueryStore
    /// The application's classifier, metered.
    let classifier: any Classifier
    let maxBodyBytes: Int
    /// A `GET /v1/queries` page stops growing at about this many bytes.
    let maxPageBytes: Int
    /// `POST /v1/classify` calls in flight at once: `--max-concurrent`, like a run's.
    let classifySlots: SlotLimit
    /// How long a call waits for a slot before its 429.
    let classifyWait: Duration

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("classify") { request, _ in try await classify(request) }
        group.post("queries") { request, _ in try await ingest(request) }
        group.get("queries") { request, _ in try await listQueries(request) }
        group.get("queries/{id}") { _, context in try await query(context.parameters.require("id")) }
        group.patch("queries/{id}") { request, context in
            try await correct(context.parameters.require("id"), request)
        }
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
        /// Stored with the query for evaluation; never sent to the LLM.
        var expected: ExpectedLabels?

        /// - Parameters:
        ///   - taxonomy: What expected labels must belong to.
        ///   - maxTextBytes: The classifier's limit (``Classifier/maxTextBytes``): a longer text is a 413 naming
        ///     the field, at the door rather than at classification.
        func query(taxonomy: Taxonomy, maxTextBytes: Int?) throws -> SupportQuery {
            let query: SupportQuery
            do {
                query = try SupportQuery(text: text, subject: subject, channel: channel, customerId: customerId,
                                         externalId: externalId, createdAt: createdAt ?? Date(), metadata: metadata ?? [:],
                                         expected: expected?.isEmpty == false ? expected : nil)
                    .validated()
            } catch {
                throw HTTPError(.badRequest, message: error.description)
            }
            do {
                _ = try query.expected?.validated(against: taxonomy)
            } catch {
                throw HTTPError(.badRequest, message: error.description)
            }
            if let maxTextBytes, let problem = query.oversized(maxTextBytes: maxTextBytes) {
                throw HTTPError(.contentTooLarge, message: problem.description)
            }
            return query
        }
    }

    /// Classifies one query now; nothing is stored (`POST /v1/queries` stores queries for the workers).
    func classify(_ request: Request) async throws -> JSONResponse<Classification> {
        let buffer = try await RequestBody.collect(request, limit: maxBodyBytes)
        let query = try RequestBody.decode(QueryBody.self, from: buffer)
            .query(taxonomy: classifier.taxonomy, maxTextBytes: classifier.maxTextBytes)
        guard await classifySlots.acquire(within: classifyWait) else {
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: "1"], message: """
                \(classifySlots.capacity) classifications are in flight, the most at once (--max-concurrent); \
                try again shortly
                """)
        }
        defer { classifySlots.release() }
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
        let queries = try Self.queries(in: buffer, ndjson: request.headers[.contentType]?.contains("ndjson") == true,
                                       taxonomy: classifier.taxonomy, maxTextBytes: classifier.maxTextBytes)
        let result = try await store.insert(queries)
        return JSONResponse(status: result.inserted > 0 ? .created : .ok, value: result)
    }

    /// The queries of an ingest body, all or none.
    /// - Throws: `HTTPError` 400 naming the line (NDJSON) or query (array) and the field; 413 for a text longer than
    ///   `maxTextBytes`.
    static func queries(in buffer: ByteBuffer, ndjson: Bool, taxonomy: Taxonomy = .customerSupport,
                        maxTextBytes: Int? = nil) throws -> [SupportQuery] {
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
                return try item.query(taxonomy: taxonomy, maxTextBytes: maxTextBytes)
            } catch let error as HTTPError where items.count > 1 {
                throw HTTPError(error.status, message: "query \(index + 1): \(error.body ?? "invalid")")
            }
        }
    }

    func query(_ id: String) async throws -> JSONResponse<QueryRecord> {
        guard let record = try await store.find(QueryID(id)) else {
            throw HTTPError(.notFound, message: "no query with id '\(id)'")
        }
        return JSONResponse(value: record)
    }

    /// A person's correction as `PATCH /v1/queries/{id}` takes it.
    struct CorrectionBody: Decodable {
        var category: String
        var priority: String?
        var sentiment: String?
        var note: String?
        /// Who is correcting; `api` when not given.
        var by: String?
    }

    /// Records a correction beside the model's answer; a later run never overwrites it.
    func correct(_ id: String, _ request: Request) async throws -> JSONResponse<QueryRecord> {
        let buffer = try await RequestBody.collect(request, limit: maxBodyBytes)
        let body = try RequestBody.decode(CorrectionBody.self, from: buffer)
        let correction: Correction
        do {
            correction = try Correction(category: body.category, priority: body.priority, sentiment: body.sentiment,
                                        note: body.note, by: body.by ?? "api")
                .validated(against: classifier.taxonomy)
        } catch {
            throw HTTPError(.badRequest, message: error.description)
        }
        guard let record = try await store.correct(QueryID(id), with: correction) else {
            throw HTTPError(.notFound, message: "no query with id '\(id)'")
        }
        return JSONResponse(value: record)
    }

    /// Queries read from the store at a time while a page is built: what bounds the page's memory, with
    /// ``maxPageBytes``, whatever `limit` and the texts' sizes.
    static let listChunk = 16

    /// `{"queries": [...], "nextCursor": ...}`: at most `limit` queries, and no more once the page holds
    /// ``maxPageBytes`` (at least one query, however large); `nextCursor` continues where it stopped.
    func listQueries(_ request: Request) async throws -> Response {
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
        switch parameters.get("needsReview") {
        case nil, "false": break
        case "true": filter.needsReview = true
        default: throw HTTPError(.badRequest, message: "parameter 'needsReview' must be true or false")
        }
        let limit = try RequestParameters.limit(parameters.get("limit"), default: 50, maximum: 1000)
        var cursor = parameters.get("cursor").map(QueryID.init)
        var body = ByteBuffer(string: #"{"queries":["#)
        var count = 0
        var full = false
        while count < limit && !full {
            let asked = min(Self.listChunk, limit - count)
            let chunk = try await store.list(filter, after: cursor, limit: asked)
            for record in chunk {
                if count > 0 { body.writeString(",") }
                body.writeBytes(try JSONEncoder.triage.encode(record))
                count += 1
                cursor = record.id
                if body.readableBytes >= maxPageBytes { full = true; break }
            }
            if chunk.count < asked { break }
        }
        body.writeString("]")
        if let cursor, count == limit || full {
            body.writeString(#","nextCursor":"#)
            body.writeBytes(try JSONEncoder.triage.encode(cursor.rawValue))
        }
        body.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: body))
    }

}
