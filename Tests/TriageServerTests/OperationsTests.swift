import Crypto
import Foundation
import Synchronization
import TestSupport
import Testing
import TriageCore
import TriageProcessor
@testable import TriageServer

/// What the operational routes show to anyone who can reach them, and what they keep behind a key.
@Suite("Operational routes")
struct OperationsTests {
    @Test("/readyz says ready or not and which check failed, never the failure's hosts or errors; probes are cached")
    func readiness() async throws {
        let probes = Mutex(0)
        let failing = Mutex(true)
        try await withServer(configure: {
            $0.readinessCacheTime = .seconds(600)
            $0.readinessCheck = {
                probes.withLock { $0 += 1 }
                return failing.withLock { $0 } ? "llm.internal.example:8080 does not answer: connection refused (errno 111)" : nil
            }
        }) { client, _ in
            for _ in 1...20 {
                let ready = try await client.json(.get, "/readyz")
                #expect(ready.status == .serviceUnavailable)
                #expect(ready.value["status"] as? String == "not ready")
                #expect(ready.value["llm"] as? String == "unavailable")
                #expect(ready.value["store"] as? String == "ok")
                #expect(!ready.text.contains("llm.internal") && !ready.text.contains("errno"))
            }
            #expect(probes.withLock { $0 } == 1)
        }
        failing.withLock { $0 = false }
        try await withServer(configure: {
            $0.readinessCacheTime = .zero
            $0.readinessCheck = { probes.withLock { $0 += 1 }; return nil }
        }) { client, _ in
            let first = try await client.json(.get, "/readyz")
            let second = try await client.json(.get, "/readyz")
            #expect(first.value["status"] as? String == "ready" && first.value["llm"] as? String == "ok")
            #expect(second.status == .ok)
        }
        #expect(probes.withLock { $0 } == 3)
    }

    @Test("/metrics under a flood summarises the store once per cache period, not once per request")
    func metricsCached() async throws {
        try await withServer(queries: 3, configure: { $0.metricsCacheTime = .seconds(600) }) { client, store in
            func pending(_ text: String) -> String? {
                text.split(separator: "\n").first { $0.hasPrefix(#"triage_store_queries{status="pending"}"#) }
                    .map { String($0.split(separator: " ").last ?? "") }
            }
            #expect(pending(try await client.json(.get, "/metrics").text) == "3.0")
            _ = try await store.insert(sampleQueries(8))
            let seen = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<100 {
                    group.addTask { pending(try await client.json(.get, "/metrics").text) }
                }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(seen == ["3.0"], "100 scrapes within the period, one summary: the counts of the first")
        }
        try await withServer(queries: 3, configure: { $0.metricsCacheTime = .zero }) { client, store in
            _ = try await client.json(.get, "/metrics")
            _ = try await store.insert(sampleQueries(8))
            #expect(try await client.json(.get, "/metrics").text.contains(#"triage_store_queries{status="pending"} 8.0"#))
        }
    }

    @Test("with keys, the status page is a shell without data, and its content needs the key")
    func statusPageBehindKey() async throws {
        try await withServer(queries: 5, configure: { $0.apiKeys = ["page-key"]; $0.allowUnauthenticated = false }) { client, _ in
            let started = try await client.json(.post, "/v1/runs", body: "{}", key: "page-key")
            let id = try #require(started.value["id"] as? String)
            #expect(try await eventually {
                try await client.json(.get, "/v1/runs/\(id)", key: "page-key").value["state"] as? String == "completed"
            })
            let shell = try await client.execute(uri: "/", method: .get)
            let html = String(buffer: shell.body)
            #expect(shell.status == .ok)
            for data in ["orders_shipping", "By status", String(id.prefix(8)), "classified"] {
                #expect(!html.contains(data), "the public shell shows \(data)")
            }
            #expect(html.contains("sessionStorage") && html.contains("/v1/status-page"))
            let policy = try #require(shell.headers[.contentSecurityPolicy])
            let script = try #require(html.firstMatch(of: /<script>([\s\S]*)<\/script>/).map { String($0.1) })
            let hash = Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString()
            #expect(policy.contains("script-src 'sha256-\(hash)'"), "\(policy)")
            #expect(policy.contains("frame-ancestors 'none'") && policy.contains("connect-src 'self'"))
            #expect(try await client.json(.get, "/v1/status-page").status == .unauthorized)
            let content = try await client.json(.get, "/v1/status-page", key: "page-key")
            #expect(content.status == .ok)
            #expect(content.text.contains("By status") && content.text.contains("orders_shipping"))
            #expect(content.text.contains(String(id.prefix(8))))
            #expect(!content.text.contains("open to anyone"))
        }
    }

    @Test("--no-auth without keys: the page says the API is open to anyone")
    func openBanner() async throws {
        try await withServer { client, _ in
            let content = try await client.json(.get, "/v1/status-page")
            #expect(content.text.contains("open to anyone"))
        }
    }

    @Test("keys are compared by digest: exact keys only, and neither keys nor digests are ever printed")
    func keyComparison() {
        let keys: APIKeys = ["alpha-key-1", "beta-key-2", ""]
        #expect(keys.accepts("alpha-key-1") && keys.accepts("beta-key-2"))
        for wrong in ["", "alpha-key", "alpha-key-12", "ALPHA-KEY-1", " alpha-key-1", "beta-key-2\0"] {
            #expect(!keys.accepts(wrong), "\(wrong)")
        }
        let digest = SHA256.hash(data: Array("alpha-key-1".utf8)).map { String(format: "%02x", $0) }.joined()
        for shown in [keys.description, String(describing: keys), String(reflecting: keys)] {
            #expect(!shown.contains("alpha-key-1") && !shown.contains(digest.prefix(16)), "\(shown)")
        }
        #expect(keys.description == "2 API keys")
        #expect(APIKeys([]).isEmpty && !APIKeys([]).accepts(""))
    }
}

@Suite("Metrics of a paused run")
struct PausedRunMetricsTests {
    @Test("triage_run_paused is 1 while the latest progress says the run is paused, and 0 once it resumes")
    func pausedGauge() {
        let metrics = TriageMetrics()
        let meter = ProgressMeter(metrics: metrics)
        var progress = RunProgress(runId: "r", state: .running, total: 10, classified: 2, failed: 0, retried: 0,
                                   inFlight: 0, elapsedSeconds: 3)
        progress.paused = "the LLM provider is not answering (for 12 s)"
        meter.record(progress)
        #expect(metrics.render().contains(#"triage_run_paused{reason="provider_outage"} 1"#))
        progress.paused = nil
        meter.record(progress)
        #expect(metrics.render().contains(#"triage_run_paused{reason="provider_outage"} 0"#))
    }
}
