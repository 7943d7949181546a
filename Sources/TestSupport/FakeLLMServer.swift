import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import Synchronization

/// A fake LLM provider on loopback, speaking OpenAI's chat-completions (`POST /v1/chat/completions`) and Anthropic's
/// Messages API (`POST /v1/messages`), scriptable per request: latency, 429 with `Retry-After`, 5xx, hangs,
/// malformed or out-of-taxonomy answers, truncated bodies. It counts what it received, and can enforce a rate limit
/// the way providers do (a per-minute limit enforced per second).
public final class FakeLLMServer: Sendable {
    /// One request as received.
    public struct Request: Sendable {
        public var index: Int
        public var path: String
        public var headers: [String: String]
        public var body: Data
        /// When the request arrived (before any rate limit enforcement).
        public var receivedAt: ContinuousClock.Instant = .now
        /// For a line of a batch: which batch (1 for the first the server created).
        public var batchNumber: Int?

        /// The body as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }

        /// The fields the request's answer schema names (OpenAI's `response_format`, Anthropic's tool), `nil` when
        /// it sends none: a constrained model answers only these.
        public var schemaFields: Set<String>? {
            let json = json
            let openAI = ((json["response_format"] as? [String: Any])?["json_schema"] as? [String: Any])?["schema"]
            let anthropic = (json["tools"] as? [[String: Any]])?.first?["input_schema"]
            guard let properties = ((openAI ?? anthropic) as? [String: Any])?["properties"] as? [String: Any] else {
                return nil
            }
            return Set(properties.keys)
        }

        /// A classification answer as a model constrained by the request's schema gives it.
        func answer(_ fields: [String: Any]) -> String {
            let asked = schemaFields
            let kept = fields.filter { asked?.contains($0.key) ?? true }
            return String(decoding: (try? JSONSerialization.data(withJSONObject: kept, options: [.sortedKeys])) ?? Data(),
                          as: UTF8.self)
        }

        /// The text of the first user message: the query, as the classifier framed it.
        public var firstUserMessage: String {
            let messages = json["messages"] as? [[String: Any]] ?? []
            return messages.first { $0["role"] as? String == "user" }?["content"] as? String ?? ""
        }

        /// The prompt's tokens as this fake counts them (see ``FakeLLMServer/tokenCount(_:)``): the system prompt,
        /// every message with 4 tokens of framing, and the answer's schema (`response_format` or `tools`).
        public var promptTokenCount: Int {
            let object = json
            var texts: [String] = []
            if let system = object["system"] as? String { texts.append(system) }
            if let blocks = object["system"] as? [[String: Any]] { texts += blocks.compactMap { $0["text"] as? String } }
            let messages = object["messages"] as? [[String: Any]] ?? []
            for message in messages {
                if let content = message["content"] as? String { texts.append(content) }
                if let blocks = message["content"] as? [[String: Any]] {
                    texts += blocks.compactMap { $0["text"] as? String }
                }
            }
            for key in ["response_format", "tools"] {
                if let value = object[key], let data = try? JSONSerialization.data(withJSONObject: value) {
                    texts.append(String(decoding: data, as: UTF8.self))
                }
            }
            return texts.map(FakeLLMServer.tokenCount).reduce(0, +) + 4 * messages.count + 4
        }

        /// The text of the last user message.
        public var lastUserMessage: String {
            let messages = json["messages"] as? [[String: Any]] ?? []
            return messages.last { $0["role"] as? String == "user" }?["content"] as? String ?? ""
        }
    }

    /// What to answer.
    public enum Reply: Sendable {
        /// A valid classification in the provider's format.
        case classification(category: String = "billing", priority: String = "normal", sentiment: String = "neutral",
                            language: String = "en", confidence: Double = 0.9, summary: String = "Customer needs help.",
                            promptTokens: Int = 150, completionTokens: Int = 30, after: Duration = .zero,
                            cachedTokens: Int = 0)
        /// This exact text as the model's answer (malformed JSON, prose, out-of-taxonomy labels).
        case content(String, promptTokens: Int = 150, completionTokens: Int = 30, after: Duration = .zero)
        /// A bare HTTP status with optional headers and body.
        case status(Int, headers: [String: String] = [:], body: String = "", after: Duration = .zero)
        /// Never answer.
        case hang
        /// A 200 whose body is cut short and the connection closed.
        case truncated
    }

    private struct State {
        var requests: [Request] = []
        var throttled = 0
        var accepted: [ContinuousClock.Instant] = []
        var files: [String: Data] = [:]
        var batches: [String: FakeBatch] = [:]
        var batchesCreated = 0
        var inFlight = 0
        var maxInFlight = 0
    }

    /// A batch of the fake batch APIs: its lines, and how far it has got.
    private struct FakeBatch {
        var anthropic: Bool
        var lines: [(customId: String, body: Data)]
        var metadata: [String: String] = [:]
        var createdAt = Int(Date().timeIntervalSince1970)
        var number = 0
        var polls = 0
        var cancelling = false
        /// Set once ended: `completed`, `expired` or `cancelled` (Anthropic: `ended` for all three).
        var ended: String?
        var outputFileId: String?
        var errorFileId: String?
        var results: Data?
        var succeeded = 0
        var failed = 0
    }

    /// How the fake batch APIs move a batch along: it stays `in_progress` for `pollsInProgress` polls, then ends.
    /// With `expire`, it ends expired, the lines answered `.hang` never done.
    public struct BatchBehaviour: Sendable {
        public var pollsInProgress: Int
        public var expire: Bool
        /// An OpenAI-compatible endpoint (`http://127.0.0.1:PORT/v1`, llama.cpp's server say) that answers the lines
        /// instead of the script: real classifications through the batch API.
        public var upstream: String?
        /// Creating an OpenAI batch starts it, and the answer never comes: a client that dies then has a batch at
        /// the provider whose id it never learnt.
        public var createUnanswered: Bool

        public init(pollsInProgress: Int = 1, expire: Bool = false, upstream: String? = nil,
                    createUnanswered: Bool = false) {
            self.pollsInProgress = pollsInProgress
            self.expire = expire
            self.upstream = upstream
            self.createUnanswered = createUnanswered
        }
    }

    private let script: @Sendable (Request) -> Reply
    private let countsTokens: Bool
    private let batchBehaviour: Mutex<BatchBehaviour>
    private let requestsPerSecond: Int?
    private let window: LimitWindow
    private let started = ContinuousClock.now
    private let state = Mutex(State())
    private let port: Mutex<Int>

    /// How a per-second limit counts.
    public enum LimitWindow: Sendable {
        /// Any one second: the strictest reading.
        case sliding
        /// Each whole second since the server started, counted afresh (as many providers quantize their limits).
        case quantized
    }

    /// - Parameters:
    ///   - port: The loopback port to listen on; 0 for a free one. A server started on the port another one just
    ///     left stands for a provider that comes back.
    ///   - requestsPerSecond: When set, a request beyond this many in a second gets a 429 with `Retry-After: 1`.
    ///   - window: Which seconds `requestsPerSecond` counts in.
    ///   - countsTokens: Report usage counted from each request and answer (``Request/promptTokenCount``), as a
    ///     provider does, instead of the numbers the script gives.
    ///   - script: Decides each answer.
    public init(port: Int = 0, requestsPerSecond: Int? = nil, window: LimitWindow = .sliding,
                countsTokens: Bool = false, batches: BatchBehaviour = BatchBehaviour(),
                script: @escaping @Sendable (Request) -> Reply = { _ in .classification() }) {
        self.port = Mutex(port)
        self.countsTokens = countsTokens
        self.batchBehaviour = Mutex(batches)
        self.requestsPerSecond = requestsPerSecond
        self.window = window
        self.script = script
    }

    /// The port it listens on (known once ``run(_:)`` has started it, or given to `init`).
    public var listeningPort: Int { port.withLock { $0 } }

    /// The base URL for OpenAI-compatible clients (`http://127.0.0.1:PORT/v1`).
    public var openAIBaseURL: String { "http://127.0.0.1:\(port.withLock { $0 })/v1" }
    /// The base URL for Anthropic clients (`http://127.0.0.1:PORT`).
    public var anthropicBaseURL: String { "http://127.0.0.1:\(port.withLock { $0 })" }
    public var requests: [Request] { state.withLock { $0.requests } }
    public var requestCount: Int { state.withLock { $0.requests.count } }
    /// Batches created through either batch API.
    public var batchesCreated: Int { state.withLock { $0.batchesCreated } }
    /// Changes how batches move along (to let a held batch finish, say).
    public func setBatchBehaviour(_ behaviour: BatchBehaviour) { batchBehaviour.withLock { $0 = behaviour } }
    /// How many 429s the rate limit enforcement sent.
    public var throttledCount: Int { state.withLock { $0.throttled } }
    /// The most requests it was answering at once.
    public var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    /// Starts the server on a free loopback port, runs `body`, and stops the server, whatever happens.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port.withLock { $0 }) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        port.withLock { $0 = server.channel.localAddress?.port ?? 0 }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Not cancelled from outside: it ends when the server channel closes, after handing every accepted
                // connection to `serve` (a connection channel dropped unserved is a fatal error in SwiftNIO).
                await withDiscardingTaskGroup { connections in
                    try? await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await self.serve(connection) }
                        }
                    }
                    // Idle keep-alive and hung connections stop here.
                    connections.cancelAll()
                }
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            server.channel.close(promise: nil)
            try await group.waitForAll()
            return try result.get()
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { continue }
                    let keepOpen = try await respond(to: head, body: Data(buffer: body), outbound: outbound)
                    if !keepOpen { return }
                }
            }
        }
    }

    /// Answers one request; returns whether the connection stays open.
    private func respond(to head: HTTPRequestHead, body: Data,
                         outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws -> Bool {
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let request = state.withLock { state -> Request in
            let request = Request(index: state.requests.count, path: head.uri, headers: headers, body: body)
            state.requests.append(request)
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            return request
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        if let limit = requestsPerSecond {
            let now = ContinuousClock.now
            let allowed = state.withLock { state -> Bool in
                switch window {
                case .sliding:
                    state.accepted.removeAll { now - $0 >= .seconds(1) }
                case .quantized:
                    let second = (now - started).components.seconds
                    state.accepted.removeAll { ($0 - started).components.seconds != second }
                }
                guard state.accepted.count < limit else {
                    state.throttled += 1
                    return false
                }
                state.accepted.append(now)
                return true
            }
            if !allowed {
                try await write(429, ["Retry-After": "1"], #"{"error":{"message":"Rate limit reached"}}"#, outbound)
                return true
            }
        }
        if let (code, text) = await batchRoute(head, body: body) {
            try await write(code, [:], text, outbound)
            return true
        }
        let anthropic = head.uri.hasSuffix("/messages")
        switch script(request) {
        case .classification(let category, let priority, let sentiment, let language, let confidence, let summary,
                             let promptTokens, let completionTokens, let after, let cachedTokens):
            try await Task.sleep(for: after)
            let text = request.answer(["category": category, "priority": priority, "sentiment": sentiment,
                                       "language": language, "confidence": confidence, "summary": summary])
            try await write(200, [:], Self.success(content: text, anthropic: anthropic,
                                                   prompt: countsTokens ? request.promptTokenCount : promptTokens,
                                                   completion: countsTokens ? Self.tokenCount(text) : completionTokens,
                                                   cached: cachedTokens),
                            outbound)
        case .content(let text, let promptTokens, let completionTokens, let after):
            try await Task.sleep(for: after)
            try await write(200, [:], Self.success(content: text, anthropic: anthropic,
                                                   prompt: countsTokens ? request.promptTokenCount : promptTokens,
                                                   completion: countsTokens ? Self.tokenCount(text) : completionTokens,
                                                   asTool: false), outbound)
        case .status(let code, let extra, let text, let after):
            try await Task.sleep(for: after)
            try await write(code, extra, text, outbound)
        case .hang:
            try await Task.sleep(for: .seconds(3600))
        case .truncated:
            var responseHeaders = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "500")])
            responseHeaders.add(name: "Connection", value: "close")
            try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: responseHeaders)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: #"{"choices":[{"mess"#))))
            return false
        }
        return true
    }

    private func write(_ code: Int, _ extra: [String: String], _ text: String,
                       _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(text.utf8.count)")])
        for (name, value) in extra { headers.add(name: name, value: value) }
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
        try await outbound.write(.end(nil))
    }

    /// Anthropic's name for the error an HTTP status stands for.
    static func anthropicErrorType(_ status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        case 400..<500: "invalid_request_error"
        default: "api_error"
        }
    }

    // MARK: - The batch APIs

    /// Answers the batch APIs' routes (OpenAI files and batches, Anthropic message batches); `nil` for other paths.
    private func batchRoute(_ head: HTTPRequestHead, body: Data) async -> (Int, String)? {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let parts = path.split(separator: "/").map(String.init)
        func json(_ object: Any) -> String {
            String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
        }
        let notFound = (404, #"{"error": {"message": "no such object"}}"#)
        /// The `*` segment when `parts` is `pattern` (`nil` when it is not, "" when the pattern has no `*`).
        func matches(_ method: HTTPMethod, _ pattern: String) -> String? {
            let expected = pattern.split(separator: "/").map(String.init)
            guard head.method == method, expected.count == parts.count else { return nil }
            var captured = ""
            for (want, got) in zip(expected, parts) {
                if want == "*" { captured = got } else if want != got { return nil }
            }
            return captured
        }
        if matches(.POST, "v1/files") != nil {
            guard let file = Self.multipartFile(body, contentType: head.headers["content-type"].first ?? "") else {
                return (400, #"{"error": {"message": "no file in the upload"}}"#)
            }
            let id = state.withLock { state -> String in
                let id = "file-\(state.files.count + 1)"
                state.files[id] = file
                return id
            }
            return (200, json(["id": id, "object": "file", "purpose": "batch", "bytes": file.count]))
        } else if let id = matches(.GET, "v1/files/*/content") {
            return state.withLock { $0.files[id] }.map { (200, String(decoding: $0, as: UTF8.self)) } ?? notFound
        } else if matches(.POST, "v1/batches") != nil {
            let request = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            guard let fileId = request["input_file_id"] as? String, let file = state.withLock({ $0.files[fileId] }) else {
                return (400, #"{"error": {"message": "unknown input_file_id"}}"#)
            }
            let lines = file.split(separator: UInt8(ascii: "\n")).compactMap { line -> (String, Data)? in
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                      let customId = object["custom_id"] as? String, let body = object["body"],
                      let data = try? JSONSerialization.data(withJSONObject: body) else { return nil }
                return (customId, data)
            }
            let id = createBatch(FakeBatch(anthropic: false, lines: lines,
                                           metadata: request["metadata"] as? [String: String] ?? [:]))
            if batchBehaviour.withLock({ $0.createUnanswered }) { try? await Task.sleep(for: .seconds(3600)) }
            return (200, json(openAIBatch(id) ?? [:]))
        } else if matches(.GET, "v1/batches") != nil {
            // Newest first, a page at a time: `limit`, and `after` the last id of the page before.
            let query = URLComponents(string: head.uri)?.queryItems ?? []
            let limit = query.first { $0.name == "limit" }?.value.flatMap(Int.init) ?? 20
            let after = query.first { $0.name == "after" }?.value
            let ids = state.withLock { state in
                state.batches.filter { !$0.value.anthropic }.sorted { $0.value.number > $1.value.number }.map(\.key)
            }
            let rest = after.flatMap { ids.firstIndex(of: $0) }.map { Array(ids[($0 + 1)...]) } ?? ids
            let page = Array(rest.prefix(limit))
            return (200, json(["object": "list", "data": page.compactMap(openAIBatch), "has_more": rest.count > limit,
                               "first_id": page.first ?? "", "last_id": page.last ?? ""] as [String: Any]))
        } else if let id = matches(.GET, "v1/batches/*") {
            await advance(id)
            return openAIBatch(id).map { (200, json($0)) } ?? notFound
        } else if let id = matches(.POST, "v1/batches/*/cancel") {
            state.withLock { $0.batches[id]?.cancelling = true }
            return openAIBatch(id).map { (200, json($0)) } ?? notFound
        } else if matches(.POST, "v1/messages/batches") != nil {
            let request = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            let lines = (request["requests"] as? [[String: Any]] ?? []).compactMap { line -> (String, Data)? in
                guard let customId = line["custom_id"] as? String, let params = line["params"],
                      let data = try? JSONSerialization.data(withJSONObject: params) else { return nil }
                return (customId, data)
            }
            let id = createBatch(FakeBatch(anthropic: true, lines: lines))
            return (200, json(anthropicBatch(id) ?? [:]))
        } else if let id = matches(.GET, "v1/messages/batches/*") {
            await advance(id)
            return anthropicBatch(id).map { (200, json($0)) } ?? notFound
        } else if let id = matches(.GET, "v1/messages/batches/*/results") {
            return state.withLock { $0.batches[id]?.results }.map { (200, String(decoding: $0, as: UTF8.self)) }
                ?? notFound
        } else if let id = matches(.POST, "v1/messages/batches/*/cancel") {
            state.withLock { $0.batches[id]?.cancelling = true }
            return anthropicBatch(id).map { (200, json($0)) } ?? notFound
        }
        return nil
    }

    private func createBatch(_ batch: FakeBatch) -> String {
        state.withLock { state in
            state.batchesCreated += 1
            let id = (batch.anthropic ? "msgbatch_" : "batch_") + "\(state.batchesCreated)"
            var batch = batch
            batch.number = state.batchesCreated
            state.batches[id] = batch
            return id
        }
    }

    /// One poll moves a batch along: it ends after the behaviour's polls in progress, or at once when cancelled.
    /// Ending answers every line through the script, as the online API would have.
    private func advance(_ id: String) async {
        let behaviour = batchBehaviour.withLock { $0 }
        guard var batch = state.withLock({ $0.batches[id] }), batch.ended == nil else { return }
        batch.polls += 1
        guard batch.cancelling || batch.polls > behaviour.pollsInProgress else {
            state.withLock { $0.batches[id] = batch }
            return
        }
        var output = Data(), errors = Data(), results = Data()
        func line(_ object: [String: Any], into data: inout Data) {
            data.append((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
            data.append(UInt8(ascii: "\n"))
        }
        for (customId, body) in batch.lines {
            let request = Request(index: -1, path: batch.anthropic ? "/v1/messages" : "/v1/chat/completions",
                                  headers: [:], body: body, batchNumber: batch.number)
            let reply: Reply = batch.cancelling ? .hang : script(request)
            var outcome: (code: Int, body: String)?
            if let upstream = behaviour.upstream, !batch.cancelling, !batch.anthropic {
                outcome = await Self.forward(body, to: upstream + "/chat/completions")
            } else {
            switch reply {
            case .classification(let category, let priority, let sentiment, let language, let confidence, let summary,
                                 let promptTokens, let completionTokens, _, let cachedTokens):
                let text = request.answer(["category": category, "priority": priority, "sentiment": sentiment,
                                           "language": language, "confidence": confidence, "summary": summary])
                outcome = (200, Self.success(content: text, anthropic: batch.anthropic,
                                             prompt: countsTokens ? request.promptTokenCount : promptTokens,
                                             completion: countsTokens ? Self.tokenCount(text) : completionTokens,
                                             cached: cachedTokens))
            case .content(let text, let promptTokens, let completionTokens, _):
                outcome = (200, Self.success(content: text, anthropic: batch.anthropic, prompt: promptTokens,
                                             completion: completionTokens, asTool: false))
            case .status(let code, _, let text, _):
                outcome = (code, text)
            case .hang, .truncated:
                outcome = nil
            }
            }
            let body = outcome.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) } ?? [:]
            if batch.anthropic {
                let result: [String: Any]
                switch outcome {
                case .some(let answered) where (200..<300).contains(answered.code):
                    result = ["type": "succeeded", "message": body]
                    batch.succeeded += 1
                case .some(let answered):
                    // As Anthropic reports it: the error's type stands for the status an online request gets.
                    let message = ((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
                        ?? answered.body
                    result = ["type": "errored", "error": ["type": "error", "error": [
                        "type": Self.anthropicErrorType(answered.code), "message": message,
                    ]]]
                    batch.failed += 1
                case .none:
                    result = ["type": batch.cancelling ? "canceled" : "expired"]
                    batch.failed += 1
                }
                line(["custom_id": customId, "result": result], into: &results)
            } else {
                switch outcome {
                case .some(let answered) where (200..<300).contains(answered.code):
                    line(["custom_id": customId, "response": ["status_code": answered.code, "body": body],
                          "error": NSNull()], into: &output)
                    batch.succeeded += 1
                case .some(let answered):
                    line(["custom_id": customId, "response": ["status_code": answered.code, "body": body],
                          "error": NSNull()], into: &errors)
                    batch.failed += 1
                case .none:
                    let code = batch.cancelling ? "batch_cancelled" : "batch_expired"
                    line(["custom_id": customId, "response": NSNull(),
                          "error": ["code": code, "message": "not done before the batch ended"]], into: &errors)
                    batch.failed += 1
                }
            }
        }
        batch.ended = batch.cancelling ? "cancelled" : behaviour.expire ? "expired" : "completed"
        state.withLock { state in
            if batch.anthropic {
                batch.results = results
            } else {
                if !output.isEmpty {
                    batch.outputFileId = "file-\(state.files.count + 1)"
                    state.files[batch.outputFileId!] = output
                }
                if !errors.isEmpty {
                    batch.errorFileId = "file-\(state.files.count + 1)"
                    state.files[batch.errorFileId!] = errors
                }
            }
            state.batches[id] = batch
        }
    }

    /// POSTs a line's body to an OpenAI-compatible endpoint; its status and body, or `nil` if it did not answer.
    private static func forward(_ body: Data, to url: String) async -> (code: Int, body: String)? {
        guard let url = URL(string: url) else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        request.timeoutInterval = 300
        return await withCheckedContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, _ in
                guard let status = (response as? HTTPURLResponse)?.statusCode, let data else {
                    return continuation.resume(returning: nil)
                }
                continuation.resume(returning: (status, String(decoding: data, as: UTF8.self)))
            }.resume()
        }
    }

    private func openAIBatch(_ id: String) -> [String: Any]? {
        guard let batch = state.withLock({ $0.batches[id] }), !batch.anthropic else { return nil }
        let status = batch.ended ?? (batch.cancelling ? "cancelling" : batch.polls == 0 ? "validating" : "in_progress")
        var object: [String: Any] = [
            "id": id, "object": "batch", "status": status, "endpoint": "/v1/chat/completions",
            "completion_window": "24h", "metadata": batch.metadata, "created_at": batch.createdAt,
            "request_counts": ["total": batch.lines.count, "completed": batch.succeeded, "failed": batch.failed],
        ]
        object["output_file_id"] = batch.outputFileId
        object["error_file_id"] = batch.errorFileId
        return object
    }

    private func anthropicBatch(_ id: String) -> [String: Any]? {
        guard let batch = state.withLock({ $0.batches[id] }), batch.anthropic else { return nil }
        let done = batch.succeeded + batch.failed
        var object: [String: Any] = [
            "id": id, "type": "message_batch",
            "processing_status": batch.ended != nil ? "ended" : batch.cancelling ? "canceling" : "in_progress",
            "request_counts": ["processing": batch.lines.count - done, "succeeded": batch.succeeded,
                               "errored": batch.failed, "canceled": 0, "expired": 0],
            "cancel_initiated_at": batch.cancelling ? "2026-01-01T00:00:00Z" : NSNull(),
        ]
        if batch.ended != nil { object["results_url"] = "\(anthropicBaseURL)/v1/messages/batches/\(id)/results" }
        return object
    }

    /// The file part of a `multipart/form-data` body.
    static func multipartFile(_ body: Data, contentType: String) -> Data? {
        guard let boundary = contentType.components(separatedBy: "boundary=").last, !boundary.isEmpty else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        for part in text.components(separatedBy: "--" + boundary) where part.contains("name=\"file\"") {
            guard let start = part.range(of: "\r\n\r\n") else { continue }
            var content = String(part[start.upperBound...])
            if content.hasSuffix("\r\n") { content.removeLast(2) }
            return Data(content.utf8)
        }
        return nil
    }

    /// Tokens as this fake counts them, a tokenizer of its own (not Triage's estimate), shaped like BPE's: a run of
    /// letters and digits is a token per six characters or part (most English words are one token), a run of
    /// punctuation (`{"`, `": "`) one token,
    /// spaces nothing.
    public static func tokenCount(_ text: String) -> Int {
        enum Kind { case word, punctuation, space }
        var tokens = 0
        var run = 0
        var kind = Kind.space
        for scalar in text.unicodeScalars {
            let next: Kind = scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) ? .word
                : scalar.properties.isWhitespace ? .space : .punctuation
            if next == kind && next != .space {
                run += 1
                continue
            }
            tokens += kind == .word ? (run + 5) / 6 : kind == .punctuation ? 1 : 0
            (kind, run) = (next, 1)
        }
        return tokens + (kind == .word ? (run + 5) / 6 : kind == .punctuation ? 1 : 0)
    }

    /// A successful response body in the provider's format.
    /// - Parameter cached: Of the `prompt` tokens, those read from the prompt cache.
    static func success(content: String, anthropic: Bool, prompt: Int, completion: Int, asTool: Bool = true,
                        cached: Int = 0) -> String {
        let object: [String: Any]
        if anthropic {
            let block: [String: Any]
            if asTool, let input = try? JSONSerialization.jsonObject(with: Data(content.utf8)) {
                block = ["type": "tool_use", "id": "toolu_fake", "name": "record_classification", "input": input]
            } else {
                block = ["type": "text", "text": content]
            }
            object = ["id": "msg_fake", "type": "message", "role": "assistant", "model": "fake-claude",
                      "content": [block], "stop_reason": "tool_use",
                      "usage": ["input_tokens": prompt - cached, "output_tokens": completion,
                                "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0]]
        } else {
            object = ["id": "chatcmpl-fake", "object": "chat.completion", "model": "fake-gpt",
                      "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
                      "usage": ["prompt_tokens": prompt, "completion_tokens": completion,
                                "total_tokens": prompt + completion,
                                "prompt_tokens_details": ["cached_tokens": cached]]]
        }
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }
}
