import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Synchronization
import HummingbirdTesting
import TestSupport
import Testing
import TriageCore
@testable import TriageServer

@Suite("HTTP API")
struct ServerTests {
    @Test("200 queries ingested through the API with workers running are classified with no other call")
    func workersClassifyIngestedQueries() async throws {
        try await withServer(configure: { $0.workers = true }) { client, _ in
            let queries = (1...200).map { #"{"text": "query \#($0): where is my parcel?", "externalId": "e-\#($0)"}"# }
            let ingest = try await client.json(.post, "/v1/queries", body: "[" + queries.joined(separator: ",") + "]")
            #expect(ingest.status == .created)
            #expect(ingest.value["inserted"] as? Int == 200)
            let again = try await client.json(.post, "/v1/queries", body: queries.prefix(3).joined(separator: "\n"),
                                              contentType: "application/x-ndjson")
            #expect(again.value["duplicates"] as? Int == 3)
            #expect(try await eventually {
                let stats = try await client.json(.get, "/v1/stats")
                return (stats.value["byStatus"] as? [String: Int])?["classified"] == 200
            })
            let page = try await client.json(.get, "/v1/queries?status=classified&limit=150")
            #expect((page.value["queries"] as? [Any])?.count == 150)
            let cursor = try #require(page.value["nextCursor"] as? String)
            let rest = try await client.json(.get, "/v1/queries?status=classified&limit=150&cursor=\(cursor)")
            #expect((rest.value["queries"] as? [Any])?.count == 50)
            #expect(rest.value["nextCursor"] == nil)
            let one = try await client.json(.get, "/v1/queries/\(cursor)")
            #expect(one.value["status"] as? String == "classified")
            #expect(try await client.json(.get, "/v1/queries/99999").status == .notFound)
        }
    }

    @Test("POST /v1/runs reports progress, and when done a signed webhook reaches a local receiver")
    func runReportsProgressAndSignsItsWebhook() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            let classifier = ScriptedClassifier { _ in .succeed(after: .milliseconds(20)) }
            try await withServer(queries: 120, classifier: classifier, configure: {
                $0.webhooks.secret = "whsec-test-secret"
                $0.webhooks.allowedHosts = ["127.0.0.1"]
                $0.webhooks.allowPrivateAddresses = true
            }) { client, _ in
                let started = try await client.json(.post, "/v1/runs",
                                                    body: #"{"batchSize": 10, "maxConcurrent": 4, "webhook": "\#(url)"}"#)
                #expect(started.status == .accepted)
                let id = try #require(started.value["id"] as? String)
                let sawProgress = Mutex(false)
                let finished = try await eventually {
                    let run = try await client.json(.get, "/v1/runs/\(id)")
                    if let progress = run.value["progress"] as? [String: Any], progress["total"] as? Int == 120,
                       (progress["classified"] as? Int ?? 0) > 0 {
                        sawProgress.withLock { $0 = true }
                    }
                    return run.value["state"] as? String == "completed" && receiver.deliveries.withLock { !$0.isEmpty }
                }
                #expect(finished)
                #expect(sawProgress.withLock { $0 })
                let delivery = try #require(receiver.deliveries.withLock { $0.first })
                let timestamp = try #require(header(delivery.headers, WebhookSignature.timestampHeader).flatMap { Int($0) })
                let signature = try #require(header(delivery.headers, WebhookSignature.signatureHeader))
                #expect(WebhookSignature.verify(body: delivery.body, timestamp: timestamp, signature: signature,
                                                secret: "whsec-test-secret"))
                #expect(!WebhookSignature.verify(body: delivery.body + [32], timestamp: timestamp, signature: signature,
                                                 secret: "whsec-test-secret"))
                #expect(!WebhookSignature.verify(body: delivery.body, timestamp: timestamp, signature: signature,
                                                 secret: "whsec-test-secret", now: Date().addingTimeInterval(3600)))
                let event = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
                #expect(event["type"] as? String == "run.completed")
                let run = try #require(event["run"] as? [String: Any])
                #expect(run["id"] as? String == id)
                #expect((run["statistics"] as? [String: Any])?["classified"] as? Int == 120)
                #expect(event["occurredAt"] is String && event["id"] is String)
                let record = try await client.json(.get, "/v1/runs/\(id)")
                let deliveries = (record.value["record"] as? [String: Any])?["webhookDeliveries"] as? [[String: Any]]
                #expect(deliveries?.count == 1)
                #expect(deliveries?.first?["delivered"] as? Bool == true)
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                let text = String(buffer: metrics.body)
                #expect(text.contains("triage_queries_classified_total{category=\"orders_shipping\"} 120"))
                #expect(text.contains("triage_llm_latency_seconds_bucket"))
                #expect(text.contains("triage_store_queries{status=\"classified\"} 120"))
            }
        }
    }

    @Test("a receiver answering 500 twice gets the event on the third try, every attempt recorded")
    func webhookRetries() async throws {
        let receiver = WebhookReceiver(failures: 2)
        try await receiver.run { url in
            try await withServer(queries: 5, configure: {
                $0.webhooks.allowedHosts = ["127.0.0.1"]
                $0.webhooks.allowPrivateAddresses = true
            }) { client, _ in
                let started = try await client.json(.post, "/v1/runs", body: #"{"webhook": "\#(url)"}"#)
                let id = try #require(started.value["id"] as? String)
                #expect(try await eventually {
                    let run = try await client.json(.get, "/v1/runs/\(id)")
                    let record = run.value["record"] as? [String: Any]
                    return (record?["webhookDeliveries"] as? [Any])?.count == 3
                })
                #expect(receiver.deliveries.withLock { $0.count } == 3)
                let run = try await client.json(.get, "/v1/runs/\(id)")
                let deliveries = try #require((run.value["record"] as? [String: Any])?["webhookDeliveries"] as? [[String: Any]])
                #expect(deliveries.map { $0["status"] as? Int } == [500, 500, 204])
                #expect(deliveries.map { $0["delivered"] as? Bool } == [false, false, true])
                let ids = receiver.deliveries.withLock { $0.map { header($0.headers, WebhookSignature.eventHeader) } }
                #expect(Set(ids).count == 1)
            }
        }
    }

    @Test("cancel stops a run and leaves the unfinished queries pending")
    func cancelLeavesPending() async throws {
        let classifier = ScriptedClassifier { _ in .succeed(after: .milliseconds(300)) }
        try await withServer(queries: 100, classifier: classifier) { client, store in
            let started = try await client.json(.post, "/v1/runs", body: #"{"maxConcurrent": 4}"#)
            let id = try #require(started.value["id"] as? String)
            #expect(await eventually { classifier.inFlight == 4 })
            let cancel = try await client.json(.post, "/v1/runs/\(id)/cancel")
            #expect(cancel.status == .accepted)
            #expect(try await eventually {
                try await client.json(.get, "/v1/runs/\(id)").value["state"] as? String == "cancelled"
            })
            let summary = try await store.summary()
            #expect(summary.count(.processing) == 0)
            #expect(summary.count(.pending) > 50)
            #expect(summary.count(.classified) + summary.count(.pending) == 100)
            #expect(try await client.json(.post, "/v1/runs/\(id)/cancel").status == .conflict)
            #expect(try await client.json(.post, "/v1/runs/nope/cancel").status == .notFound)
        }
    }

    @Test("API keys protect /v1; health, readiness and metrics stay open unless protected")
    func authentication() async throws {
        try await withServer(configure: { $0.apiKeys = ["key-one", "key-two"]; $0.protectedPaths = ["/metrics"] }) { client, _ in
            let missing = try await client.json(.get, "/v1/stats")
            #expect(missing.status == .unauthorized)
            #expect((missing.value["error"] as? [String: Any])?["message"] as? String != nil)
            #expect(try await client.json(.get, "/v1/stats", key: "wrong").status == .unauthorized)
            #expect(try await client.json(.post, "/v1/classify", body: #"{"text": "hi"}"#).status == .unauthorized)
            #expect(try await client.json(.get, "/v1/stats", key: "key-two").status == .ok)
            #expect(try await client.json(.get, "/healthz").status == .ok)
            #expect(try await client.json(.get, "/readyz").status == .ok)
            #expect(try await client.json(.get, "/metrics").status == .unauthorized)
            #expect(try await client.json(.get, "/metrics", key: "key-one").status == .ok)
        }
    }

    @Test("a receiver that answers slowly in any shape holds a delivery attempt no longer than its timeout, and never a run's slot",
          .timeLimit(.minutes(2)), arguments: TricklingReceiver.Shape.allCases)
    func slowReceivers(shape: TricklingReceiver.Shape) async throws {
        let receiver = TricklingReceiver(shape)
        try await receiver.run {
            try await withServer(queries: 2, configure: {
                $0.maxActiveRuns = 1
                $0.webhookURLs = [receiver.url]
                $0.webhooks.timeout = .milliseconds(800)
                $0.webhooks.maxAttempts = 2
            }) { client, _ in
                let started = try await client.json(.post, "/v1/runs", body: "{}")
                let id = try #require(started.value["id"] as? String, "\(started.text)")
                #expect(try await eventually {
                    try await client.json(.get, "/v1/runs/\(id)").value["state"] as? String == "completed"
                })
                let next = try await client.json(.post, "/v1/runs", body: #"{"limit": 1}"#)
                #expect(next.status == .accepted, "the slot is free once the run ends: \(next.text)")
                #expect(try await eventually(timeout: .seconds(20)) {
                    let record = try await client.json(.get, "/v1/runs/\(id)").value["record"] as? [String: Any]
                    return (record?["webhookDeliveries"] as? [Any])?.count == 2
                })
                let record = try await client.json(.get, "/v1/runs/\(id)").value["record"] as? [String: Any]
                let deliveries = try #require(record?["webhookDeliveries"] as? [[String: Any]])
                #expect(deliveries.allSatisfy { $0["delivered"] as? Bool == false })
                #expect(deliveries.allSatisfy { ($0["error"] as? String)?.contains("no complete answer within 0.8") == true },
                        "\(deliveries)")
            }
        }
    }

    @Test("GET /v1/queries of large texts: a page stops at its byte budget whatever the limit, and the cursor walks them all once")
    func pagesBoundedByBytes() async throws {
        try await withServer(configure: { $0.maxPageBytes = 512 << 10 }) { client, store in
            let big = (1...60).map { SupportQuery(text: "query \($0) " + String(repeating: "x", count: 100_000),
                                                  externalId: "big-\($0)") }
            _ = try await store.insert(big)
            var cursor: String?
            var seen: [String] = []
            var pages = 0
            repeat {
                let page = try await client.json(.get, "/v1/queries?limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok)
                #expect(page.text.utf8.count < (512 << 10) + 110_000, "one page is \(page.text.utf8.count) bytes")
                let queries = try #require(page.value["queries"] as? [[String: Any]], "\(page.text.prefix(200))")
                seen += queries.compactMap { $0["id"] as? String }
                cursor = page.value["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 100
            #expect(pages >= 10, "60 texts of 100 KB in pages of 512 KB")
            #expect(seen.count == 60 && Set(seen).count == 60)
            let small = try await client.json(.get, "/v1/queries?limit=2")
            #expect((small.value["queries"] as? [Any])?.count == 2 && small.value["nextCursor"] is String)
        }
    }

    @Test("bad input: 413 over the body limit, 400 naming the field, line or query")
    func badInput() async throws {
        try await withServer(configure: { $0.maxBodyBytes = 2_000 }) { client, store in
            let big = try await client.json(.post, "/v1/queries", body: #"{"text": "\#(String(repeating: "x", count: 3_000))"}"#)
            #expect(big.status == .contentTooLarge)
            #expect(big.text.contains(#""error""#) && big.text.contains("2000 bytes"), "a JSON error: \(big.text)")
            for path in ["/v1/queries", "/v1/classify", "/v1/runs"] {
                let raw = try await RawHTTPClient.send("POST", path, port: try #require(client.port),
                                                       headers: [("Content-Type", "application/json")],
                                                       body: #"{"text": "\#(String(repeating: "x", count: 3_000))"}"#)
                #expect(raw.status == 413, "\(path)")
                #expect(raw.body.contains(#""error""#) && raw.body.contains("2000 bytes"), "\(path): \(raw.body)")
            }
            let malformed = try await client.json(.post, "/v1/classify", body: #"{"text": "unterminated"#)
            #expect(malformed.status == .badRequest)
            #expect(malformed.text.contains("not valid JSON"))
            let missing = try await client.json(.post, "/v1/classify", body: #"{"subject": "no text"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("field 'text' is required"))
            let wrongType = try await client.json(.post, "/v1/queries", body: #"[{"text": "ok"}, {"text": 5}]"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.text.contains("[1].text"))
            let empty = try await client.json(.post, "/v1/queries", body: #"[{"text": "ok"}, {"text": "  "}]"#)
            #expect(empty.text.contains("query 2: field 'text' must not be empty"))
            let ndjson = try await client.json(.post, "/v1/queries", body: "{\"text\": \"a\"}\n{\"txt\": \"b\"}",
                                               contentType: "application/x-ndjson")
            #expect(ndjson.text.contains("line 2: field 'text' is required"))
            #expect(try await client.json(.get, "/v1/queries?limit=0").status == .badRequest)
            #expect(try await client.json(.get, "/v1/queries?status=done").text.contains("parameter 'status'"))
            #expect(try await client.json(.post, "/v1/runs", body: #"{"webhook": "ftp://x"}"#).status == .badRequest)
            #expect(try await store.summary().total == 0)
        }
    }

    @Test("POST /v1/classify answers with a classification and stores nothing")
    func classifyOne() async throws {
        try await withServer { client, store in
            let result = try await client.json(.post, "/v1/classify", body: #"{"text": "Where is my parcel?"}"#)
            #expect(result.status == .ok)
            #expect(result.value["category"] as? String == "orders_shipping")
            #expect(result.value["confidence"] is Double)
            #expect(try await store.summary().total == 0)
        }
    }

    @Test("no API key or webhook secret reaches a response or a log")
    func secretsStayOut() async throws {
        let logs = LogCapture()
        let receiver = WebhookReceiver(failures: 1)
        try await receiver.run { url in
            let secretURL = url.replacingOccurrences(of: "http://", with: "http://hookuser:hook-pass-77@") + "?token=tok-99"
            try await withServer(queries: 3, logs: logs, configure: {
                $0.apiKeys = ["api-key-secret-42"]
                $0.webhooks.secret = "whsec-never-shown"
                $0.webhookURLs = [secretURL]
            }) { client, _ in
                let texts = Mutex<[String]>([])
                texts.withLock { $0.append("") }
                let unauthorized = try await client.json(.get, "/v1/stats", key: "api-key-secret-4").text
                texts.withLock { $0.append(unauthorized) }
                let started = try await client.json(.post, "/v1/runs", key: "api-key-secret-42")
                let id = try #require(started.value["id"] as? String)
                #expect(try await eventually {
                    let run = try await client.json(.get, "/v1/runs/\(id)", key: "api-key-secret-42")
                    texts.withLock { $0.append(run.text) }
                    return ((run.value["record"] as? [String: Any])?["webhookDeliveries"] as? [Any])?.count == 2
                })
                var more = [try await client.json(.get, "/v1/runs", key: "api-key-secret-42").text]
                more.append(String(buffer: try await client.execute(uri: "/metrics", method: .get).body))
                more.append(String(buffer: try await client.execute(uri: "/", method: .get).body))
                more.append(String(buffer: try await client.execute(uri: "/openapi.json", method: .get).body))
                let everything = texts.withLock { $0.joined() } + more.joined()
                    + logs.lines.withLock { $0.joined(separator: "\n") }
                #expect(logs.lines.withLock { $0.contains { $0.contains("webhook delivery") } })
                let digest = SHA256.hash(data: Array("api-key-secret-42".utf8)).map { String(format: "%02x", $0) }.joined()
                for secret in ["api-key-secret-42", "whsec-never-shown", "hook-pass-77", "tok-99", digest,
                               "Bearer api-key"] {
                    #expect(!everything.contains(secret), "\(secret) leaked")
                }
            }
        }
    }

    @Test("the status page renders runs, statuses and categories")
    func statusPage() async throws {
        try await withServer(queries: 20) { client, _ in
            let started = try await client.json(.post, "/v1/runs")
            let id = try #require(started.value["id"] as? String)
            #expect(try await eventually { try await client.json(.get, "/v1/runs/\(id)").value["state"] as? String == "completed" })
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let shell = String(buffer: page.body)
            #expect(!shell.contains("<script src") && !shell.contains("<link"))
            let content = try await client.execute(uri: "/v1/status-page", method: .get)
            #expect(content.headers[.contentType]?.hasPrefix("text/html") == true)
            let html = String(buffer: content.body)
            #expect(html.contains("By status") && html.contains("By category") && html.contains("orders_shipping"))
            #expect(html.contains(String(id.prefix(8))))
        }
    }
}

/// A header's value by name, case-insensitively.
func header(_ fields: HTTPFields, _ name: String) -> String? {
    fields.first { $0.name.canonicalName == name.lowercased() }?.value
}
