import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import TestSupport
import TriageCore
@testable import TriageServer
import TriageSQLite

/// A store with `count` sample queries, an application around it, and its live test client.
func withServer(
    queries count: Int = 0,
    classifier: any Classifier = ScriptedClassifier(),
    logs: LogCapture? = nil,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, any QueryStore) async throws -> Void
) async throws {
    let store = try SQLiteQueryStore(location: .sqliteMemory)
    if count > 0 { _ = try await store.insert(sampleQueries(count)) }
    var configuration = ServerConfiguration()
    configuration.port = 0
    // Most tests exercise other features on an open API; the tests of keys close it again.
    configuration.allowUnauthenticated = true
    // A loaded machine can stall a test longer than the default idle timeout; the tests of timeouts set their own.
    configuration.idleTimeout = .seconds(600)
    configuration.bodyTimeout = .seconds(600)
    configuration.processor.idlePoll = .milliseconds(20) ... .milliseconds(100)
    configuration.webhooks.retryPolicy = RetryPolicy(base: .milliseconds(20), maximum: .milliseconds(50))
    configure(&configuration)
    let logger = logs.map { capture in Logger(label: "test") { _ in capture.handler() } }
        ?? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let app = buildApplication(
        configuration: configuration,
        dependencies: ServerDependencies(store: store, classifier: classifier),
        logger: logger
    )
    try await app.test(.live) { client in try await body(client, store) }
}

extension TestClientProtocol {
    /// Sends a request and decodes the JSON answer.
    func json(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, key: String? = nil,
        contentType: String = "application/json"
    ) async throws -> (status: HTTPResponse.Status, value: [String: Any], text: String) {
        var headers: HTTPFields = [.contentType: contentType]
        if let key { headers[.authorization] = "Bearer \(key)" }
        let response = try await execute(uri: uri, method: method, headers: headers,
                                         body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let value = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (response.status, value, text)
    }
}

/// A local webhook receiver: records what arrives, and answers 500 to the first `failures` deliveries; with
/// `redirect`, answers every delivery with a 307 to that path on itself, and counts what lands there.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let headers: HTTPFields
        let body: [UInt8]
    }

    let deliveries = Mutex<[Delivery]>([])
    let landed = Mutex(0)
    let failures: Int
    let redirect: String?

    init(failures: Int = 0, redirect: String? = nil) {
        self.failures = failures
        self.redirect = redirect
    }

    /// Runs the receiver and `body` with its URL.
    func run(_ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        let hook: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            let count = self.deliveries.withLock {
                $0.append(Delivery(headers: request.headers, body: Array(buffer: bytes)))
                return $0.count
            }
            if let redirect = self.redirect {
                return Response(status: .temporaryRedirect, headers: [.location: redirect])
            }
            return Response(status: count <= self.failures ? .internalServerError : .noContent)
        }
        router.post("/hook", use: hook)
        router.post("/hook/**", use: hook)
        router.post("/landed") { _, _ -> HTTPResponse.Status in
            self.landed.withLock { $0 += 1 }
            return .noContent
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              logger: Logger(label: "receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/hook")
        }
    }
}

/// Collects every log line, for checking that no secret reaches a log.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    func handler() -> some LogHandler { Handler(capture: self) }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.lines.withLock { $0.append("\(event.message) \(all)") }
        }
    }
}
