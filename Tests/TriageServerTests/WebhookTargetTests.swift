import Foundation
import Synchronization
import TestSupport
import Testing
import TriageCore
@testable import TriageServer

/// Server-side request forgery through `POST /v1/runs {"webhook": …}`. End to end only against loopback receivers, so
/// no test can send traffic off this machine even when the code under test is wrong; the address rules are unit tests
/// of the check itself.
@Suite("Webhook targets")
struct WebhookTargetTests {
    @Test("a per-run webhook is refused by default, off the allow-list, and on a loopback address; the 400 says why")
    func refusedTargets() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            let port = try #require(URL(string: url)?.port)
            try await withServer(queries: 2) { client, store in
                let closed = try await client.json(.post, "/v1/runs", body: #"{"webhook": "\#(url)"}"#)
                #expect(closed.status == .badRequest)
                #expect(closed.text.contains("allow-list"), "\(closed.text)")
                #expect(try await store.runs(limit: 5).isEmpty)
            }
            try await withServer(queries: 2, configure: { $0.webhooks.allowedHosts = ["localhost", "*.example.org"] }) { client, _ in
                let loopback = try await client.json(.post, "/v1/runs",
                                                     body: #"{"webhook": "http://localhost:\#(port)/hook"}"#)
                #expect(loopback.status == .badRequest)
                #expect(loopback.text.contains("loopback"), "\(loopback.text)")
                let offList = try await client.json(.post, "/v1/runs", body: #"{"webhook": "\#(url)"}"#)
                #expect(offList.status == .badRequest)
                #expect(offList.text.contains("127.0.0.1") && offList.text.contains("allow-list"), "\(offList.text)")
                let userinfo = try await client.json(.post, "/v1/runs",
                                                     body: #"{"webhook": "http://x.example.org@127.0.0.1:\#(port)/hook"}"#)
                #expect(userinfo.status == .badRequest)
            }
            try await withServer(queries: 2, configure: {
                $0.webhooks.allowedHosts = ["127.0.0.1"]
                $0.webhooks.allowPrivateAddresses = true
            }) { client, _ in
                let other = try await client.json(.post, "/v1/runs", body: #"{"webhook": "http://localhost:\#(port)/hook"}"#)
                #expect(other.status == .badRequest)
                #expect(try await client.json(.post, "/v1/runs", body: #"{"webhook": "\#(url)"}"#).status == .accepted)
            }
            #expect(await eventually { receiver.deliveries.withLock { $0.count } == 1 })
        }
    }

    @Test("no webhook follows a redirect: a 307 to another loopback path is recorded, neither followed nor retried")
    func noRedirects() async throws {
        let receiver = WebhookReceiver(redirect: "/landed")
        try await receiver.run { url in
            try await withServer(queries: 2, configure: {
                $0.webhooks.allowedHosts = ["127.0.0.1"]
                $0.webhooks.allowPrivateAddresses = true
                $0.webhooks.maxAttempts = 2
                $0.webhookURLs = [url + "?operator=1"]
            }) { client, _ in
                let started = try await client.json(.post, "/v1/runs", body: #"{"webhook": "\#(url)"}"#)
                let id = try #require(started.value["id"] as? String)
                #expect(try await eventually {
                    let run = try await client.json(.get, "/v1/runs/\(id)")
                    return ((run.value["record"] as? [String: Any])?["webhookDeliveries"] as? [Any])?.count == 2
                })
                let run = try await client.json(.get, "/v1/runs/\(id)")
                let deliveries = try #require((run.value["record"] as? [String: Any])?["webhookDeliveries"] as? [[String: Any]])
                #expect(deliveries.allSatisfy { $0["status"] as? Int == 307 && $0["delivered"] as? Bool == false })
                #expect(receiver.landed.withLock { $0 } == 0)
                #expect(deliveries.count == 2)
                #expect(receiver.deliveries.withLock { $0.count } == 2)
            }
        }
    }

    @Test("delivery records and logs show an operator's webhook URL as scheme and host only")
    func operatorURLsShownByHost() async throws {
        let logs = LogCapture()
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            let secretURL = url.replacingOccurrences(of: "/hook", with: "/hook/T000/B000/slack-token-xyz")
            try await withServer(queries: 1, logs: logs, configure: { $0.webhookURLs = [secretURL] }) { client, _ in
                let started = try await client.json(.post, "/v1/runs", body: "{}")
                let id = try #require(started.value["id"] as? String)
                #expect(try await eventually {
                    let run = try await client.json(.get, "/v1/runs/\(id)")
                    return ((run.value["record"] as? [String: Any])?["webhookDeliveries"] as? [Any])?.count == 1
                })
                let runs = try await client.json(.get, "/v1/runs")
                let port = try #require(URL(string: url)?.port)
                let record = (runs.value["runs"] as? [[String: Any]])?.first
                let shown = (record?["webhookDeliveries"] as? [[String: Any]])?.first?["url"] as? String
                #expect(shown == "http://127.0.0.1:\(port)")
                let everything = runs.text + logs.lines.withLock { $0.joined(separator: "\n") }
                #expect(!everything.contains("slack-token-xyz") && !everything.contains("/hook"))
            }
        }
    }
}
