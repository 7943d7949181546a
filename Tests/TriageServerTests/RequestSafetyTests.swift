import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import TestSupport
import Testing
import TriageCore
@testable import TriageServer

/// What arrives over the network is hostile until checked: limits a client cannot raise, bodies a browser cannot
/// send, hosts a rebinding page cannot use, and no API without a key unless the operator says so.
@Suite("Request safety")
struct RequestSafetyTests {
    @Test("without keys and without --no-auth, /v1 is closed and says how to open it")
    func closedWithoutKeys() async throws {
        try await withServer(configure: { $0.allowUnauthenticated = false }) { client, store in
            let stats = try await client.json(.get, "/v1/stats")
            #expect(stats.status == .unauthorized)
            #expect(stats.text.contains("no API keys are configured"))
            #expect(try await client.json(.post, "/v1/queries", body: #"{"text": "x"}"#).status == .unauthorized)
            #expect(try await client.json(.get, "/healthz").status == .ok)
            #expect(try await store.summary().total == 0)
        }
    }

    @Test("a run request may lower the operator's limits, never raise them; runs at once are capped")
    func runLimits() async throws {
        let classifier = ScriptedClassifier { _ in .succeed(after: .milliseconds(200)) }
        try await withServer(queries: 200, classifier: classifier, configure: {
            $0.processor.maxConcurrent = 4
            $0.processor.batchSize = 10
            $0.maxActiveRuns = 1
        }) { client, store in
            for body in [#"{"maxConcurrent": 1000000000}"#, #"{"maxConcurrent": 5}"#, #"{"batchSize": 11}"#] {
                let refused = try await client.json(.post, "/v1/runs", body: body)
                #expect(refused.status == .badRequest, "\(body): \(refused.text)")
                #expect(refused.text.contains("at most"))
            }
            #expect(try await store.runs(limit: 10).isEmpty)
            let started = try await client.json(.post, "/v1/runs", body: #"{"maxConcurrent": 2, "batchSize": 2}"#)
            #expect(started.status == .accepted)
            let id = try #require(started.value["id"] as? String)
            #expect(await eventually { classifier.inFlight == 2 })
            let second = try await client.json(.post, "/v1/runs", body: "{}")
            #expect(second.status == .tooManyRequests)
            #expect(second.text.contains("1 run"))
            // Held at once: what is in flight plus at most one refill, never the backlog.
            #expect(try await store.summary().count(.processing) <= 4)
            _ = try await client.json(.post, "/v1/runs/\(id)/cancel")
            #expect(try await eventually {
                try await client.json(.get, "/v1/runs/\(id)").value["state"] as? String == "cancelled"
            })
            #expect(classifier.maxInFlight == 2)
            #expect(try await client.json(.post, "/v1/runs", body: #"{"limit": 1}"#).status == .accepted)
        }
    }

    @Test("bodies a browser can send cross-site are refused: text/plain, forms, no content type")
    func contentTypes() async throws {
        try await withServer(queries: 3) { client, store in
            let port = try #require(client.port)
            let cases: [(String, String, String?, String)] = [
                ("/v1/queries", #"{"text": "from a web page"}"#, "text/plain", "text/plain JSON"),
                ("/v1/queries", "text=from+a+form", "application/x-www-form-urlencoded", "a form"),
                ("/v1/queries", #"{"text": "multipart"}"#, "multipart/form-data; boundary=x", "multipart"),
                ("/v1/runs", "maxConcurrent=2", "application/x-www-form-urlencoded", "a form run"),
                ("/v1/runs", "", nil, "a run without a body or type"),
                ("/v1/classify", #"{"text": "x"}"#, "text/plain;charset=UTF-8", "text/plain classify"),
            ]
            for (path, body, type, name) in cases {
                var headers: [(String, String)] = []
                if let type { headers.append(("Content-Type", type)) }
                let response = try await RawHTTPClient.send("POST", path, port: port, headers: headers, body: body)
                #expect(response.status == 415, "\(name): \(response.status) \(response.body)")
                #expect(response.body.contains("Content-Type: application"), "\(name)")
            }
            #expect(try await store.summary().total == 3)
            #expect(try await store.runs(limit: 10).isEmpty)
            let json = try await client.json(.post, "/v1/queries", body: #"{"text": "ok"}"#,
                                             contentType: "Application/JSON; charset=utf-8")
            #expect(json.status == .created)
        }
    }

    @Test("a Host the server does not answer to is refused (DNS rebinding); IPs, localhost and the allow-list pass")
    func hostCheck() async throws {
        try await withServer(configure: { $0.allowedHosts = ["triage.internal", "*.example.org"] }) { client, _ in
            let port = try #require(client.port)
            func status(_ host: String, _ path: String = "/v1/stats") async throws -> Int {
                try await RawHTTPClient.send("GET", path, port: port, headers: [("Host", host)]).status
            }
            for host in ["rebind.evil.example", "rebind.evil.example:\(port)", "example.org", "example.org.evil.com",
                         "triage.internal.evil.com", "localhost.evil.com"] {
                #expect(try await status(host) == 403, "\(host)")
                #expect(try await status(host, "/") == 403, "\(host) /")
            }
            for host in ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)", "127.0.0.1", "LOCALHOST",
                         "triage.internal", "api.example.org:\(port)", "a.b.example.org"] {
                #expect(try await status(host) == 200, "\(host)")
            }
        }
    }
}
