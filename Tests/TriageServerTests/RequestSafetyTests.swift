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

    @Test("every byte of a query is kept or refused: controls round-trip, a NUL and a repeated key are 400s naming the field")
    func everyByteKeptOrRefused() async throws {
        try await withServer { client, store in
            let kept = try await client.json(.post, "/v1/queries",
                                             body: #"{"text": "a\u0001b\u007fc\u2028d \ud83d\ude00 \"q\"", "externalId": "k"}"#)
            #expect(kept.status == .created, "\(kept.text)")
            let id = try #require(try await store.list(QueryFilter(), after: nil, limit: 1).first?.id)
            let read = try await client.json(.get, "/v1/queries/\(id)")
            #expect(((read.value["query"] as? [String: Any])?["text"] as? String)
                    == "a\u{1}b\u{7F}c\u{2028}d \u{1F600} \"q\"", "\(read.text)")

            let refusals: [(path: String, body: String, contentType: String, says: [String])] = [
                ("/v1/queries", #"{"text": "a\u0000b nul byte"}"#, "application/json", ["'text'", "NUL"]),
                ("/v1/classify", #"{"text": "a\u0000b nul byte"}"#, "application/json", ["'text'", "NUL"]),
                ("/v1/queries", #"{"text": "fine", "metadata": {"k": "\u0000"}}"#, "application/json", ["'metadata'"]),
                ("/v1/queries", #"{"text":"a","text":"<b>"}"#, "application/json", ["'text'", "twice", "column 13"]),
                ("/v1/classify", #"{"text":"a","text":"<b>"}"#, "application/json", ["'text'", "twice"]),
                ("/v1/queries", #"[{"text":"a"},{"text":"b","metadata":{"x":"1","x":"2"}}]"#, "application/json",
                 ["'x'", "twice"]),
                ("/v1/queries", "{\"text\":\"ok\"}\n{\"text\":\"a\",\"subject\":\"s\",\"subject\":\"t\"}",
                 "application/x-ndjson", ["line 2", "'subject'", "twice"]),
            ]
            for refusal in refusals {
                let answer = try await client.json(.post, refusal.path, body: refusal.body, contentType: refusal.contentType)
                #expect(answer.status == .badRequest, "\(refusal.body): \(answer.text)")
                for words in refusal.says {
                    #expect(answer.text.contains(words), "\(refusal.body): \(answer.text)")
                }
            }
            let correction = try await client.json(.patch, "/v1/queries/\(id)",
                                                   body: #"{"category":"billing","category":"other"}"#)
            #expect(correction.status == .badRequest && correction.text.contains("twice"), "\(correction.text)")
            #expect(try await store.summary().total == 1, "nothing refused was stored, cut or whole")
            #expect(try await store.find(id)?.correction == nil)
        }
    }

    @Test("a socket that sends nothing, a head cut short or trickled, and a body that never ends are closed at their timeouts",
          .timeLimit(.minutes(2)))
    func connectionsTimeOut() async throws {
        try await withServer(configure: {
            $0.idleTimeout = .milliseconds(600)
            $0.bodyTimeout = .milliseconds(600)
        }) { client, _ in
            // The test client's own connection is closed too once idle: only raw sockets from here.
            let port = try #require(client.port)
            let shapes: [(name: String, parts: [String], every: Duration)] = [
                ("idle", [], .zero),
                ("partial head", ["GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"], .zero),
                ("trickled head", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".map(String.init),
                 .milliseconds(100)),
                ("body never whole", ["POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                      + "Content-Length: 1000\r\n\r\n{\"text\": \""], .zero),
                ("trickled body", ["POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                   + "Content-Length: 1000\r\n\r\n"] + Array(repeating: "a", count: 200), .milliseconds(50)),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for shape in shapes {
                    group.addTask {
                        let held = try await RawHTTPClient.hold(sending: shape.parts, every: shape.every, port: port,
                                                                timeout: .seconds(60))
                        // Without the timeouts these stay open (the trickled shapes for minutes), far past 60 s.
                        let closed = try #require(held.closedAfter, "\(shape.name): still open after 60 s")
                        #expect(closed >= .milliseconds(500), "\(shape.name): closed after \(closed)")
                    }
                }
                try await group.waitForAll()
            }
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
            // Not a host with a port: tricks that read as an allowed name to a lenient parser.
            for host in ["localhost:@evil.example", "[::1]evil.example", ":80", "localhost:80:81", "localhost:8o",
                         "[evil.example]:80", "localhost:123456"] {
                let answer = try await RawHTTPClient.send("GET", "/v1/stats", port: port, headers: [("Host", host)])
                #expect(answer.status == 400, "\(host): \(answer.status)")
                #expect(answer.body.contains("\"error\""), "\(host): a JSON error, not \(answer.body)")
            }
            let twice = try await RawHTTPClient.send("GET", "/v1/stats", port: port,
                                                     headers: [("Host", "127.0.0.1"), ("Host", "evil.example")])
            #expect(twice.status == 400, "a second Host header: \(twice.status)")
        }
    }
}
