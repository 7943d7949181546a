import Foundation
import Hummingbird
import NIOCore
import TriageCore
import TriageProcessor

/// `/v1/runs`: start a run (within the operator's limits), follow it, list runs, cancel one.
struct RunsController: Sendable {
    let store: any QueryStore
    let classifier: any Classifier
    let runs: RunManager
    let configuration: ServerConfiguration

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("runs") { request, _ in try await startRun(request) }
        group.get("runs") { request, _ in try await listRuns(request) }
        group.get("runs/{id}") { _, context in try await run(context.parameters.require("id")) }
        group.post("runs/{id}/cancel") { _, context in try await cancelRun(context.parameters.require("id")) }
    }

    struct Accepted: Encodable, Sendable {
        var id: String
        var state: RunState
        var location: String
    }

    func startRun(_ request: Request) async throws -> JSONResponse<Accepted> {
        let buffer = try await RequestBody.collect(request, limit: configuration.maxBodyBytes)
        let body = buffer.readableBytes == 0 ? RunRequest() : try RequestBody.decode(RunRequest.self, from: buffer)
        var processor = try body.processorConfiguration(within: configuration.processor)
        if let via = body.via {
            guard via == .online || classifier.batches != nil else {
                throw HTTPError(.badRequest, message: """
                    field 'via': this server's classifier has no batch API (serve it with --llm openai or \
                    --llm anthropic)
                    """)
            }
            processor.via = via
        }
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
        let limit = try RequestParameters.limit(request.uri.queryParameters.get("limit"), default: 20, maximum: 500)
        return JSONResponse(value: RunList(active: runs.activeProgress(), runs: try await store.runs(limit: limit)))
    }

    func cancelRun(_ id: String) async throws -> JSONResponse<Accepted> {
        guard runs.cancel(id) else {
            guard try await store.run(id) != nil else { throw HTTPError(.notFound, message: "no run with id '\(id)'") }
            throw HTTPError(.conflict, message: "run '\(id)' is not running")
        }
        return JSONResponse(status: .accepted, value: Accepted(id: id, state: .running, location: "/v1/runs/\(id)"))
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
