import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TriageCore
@testable import TriageServer

/// A store's error under `/v1` answers by its kind, with its message as the documented JSON error — not a bare 500.
@Suite("Store errors at the API edge")
struct StoreErrorMiddlewareTests {
    struct Case: Sendable, CustomStringConvertible {
        var error: StoreError
        var status: HTTPResponse.Status
        var says: String
        var description: String { "\(status.code)" }
    }

    static let cases = [
        Case(error: .notFound("no query with id 'x'"), status: .notFound, says: "no query with id 'x'"),
        Case(error: .leaseLost(QueryID("7")), status: .conflict, says: "lease on query 7"),
        Case(error: .invalidInput("query 3: empty text"), status: .badRequest, says: "query 3: empty text"),
        Case(error: .unavailable("server selection failed"), status: .serviceUnavailable, says: "cannot be reached"),
        Case(error: .database("disk I/O error"), status: .internalServerError, says: "the store failed"),
    ]

    @Test("each kind of store error has its status and a JSON message; a 500 is logged with its cause",
          arguments: cases)
    func mapped(_ example: Case) async throws {
        let logs = LogCapture()
        let logger = Logger(label: "test") { _ in logs.handler() }
        let router = Router()
        router.group("v1").add(middleware: StoreErrorMiddleware(logger: logger))
            .get("thing") { _, _ -> String in throw example.error }
        try await Application(router: router, logger: logger).test(.router) { client in
            let response = try await client.execute(uri: "/v1/thing", method: .get)
            #expect(response.status == example.status)
            let body = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
            let message = (body?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(example.says), "\(message)")
            if example.status == .serviceUnavailable { #expect(response.headers[.retryAfter] == "5") }
        }
        if example.status == .internalServerError {
            #expect(logs.lines.withLock { $0 }.contains { $0.contains("disk I/O error") }, "the cause reaches the log")
        }
    }

    struct DriverError: Error, CustomStringConvertible {
        var description: String { "SQLITE_FULL: database or disk is full (/var/lib/triage/store.sqlite)" }
    }

    @Test("an error no handler expected (a driver's own) is a 500 with the JSON error, its cause logged and never sent")
    func unexpected() async throws {
        let logs = LogCapture()
        let logger = Logger(label: "test") { _ in logs.handler() }
        let router = Router()
        router.group("v1").add(middleware: StoreErrorMiddleware(logger: logger))
            .post("thing") { _, _ -> String in throw DriverError() }
        try await Application(router: router, logger: logger).test(.router) { client in
            let response = try await client.execute(uri: "/v1/thing", method: .post)
            #expect(response.status == .internalServerError)
            let text = String(buffer: response.body)
            let body = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            #expect(((body?["error"] as? [String: Any])?["message"] as? String)?.contains("log has the cause") == true,
                    "\(text)")
            #expect(!text.contains("SQLITE_FULL") && !text.contains("/var/lib"))
        }
        #expect(logs.lines.withLock { $0 }.contains { $0.contains("SQLITE_FULL") }, "the cause reaches the log")
    }
}
