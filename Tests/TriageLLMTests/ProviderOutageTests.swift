import Foundation
import Synchronization
import TestSupport
import Testing
import TriageCore
import TriageLLM
import TriageProcessor

/// A provider that goes away mid-run: the run pauses instead of spending the backlog's attempts.
@Suite("Provider outage during a run")
struct ProviderOutageTests {
    @Test("the provider answering 503 for seconds mid-run: nothing failed, no attempt spent, all classified after")
    func outagePausesTheRun() async throws {
        // The first 20 requests are answered; then the provider is down for 3 s; then it answers again.
        let served = Mutex(0)
        let downSince = Mutex<ContinuousClock.Instant?>(nil)
        let (record, store, server) = try await LLMProcessingTests().run(
            queries: 60,
            configure: { $0.retryBudget = 0 },
            processor: {
                $0.maxConcurrent = 4
                $0.outageProbe = .milliseconds(200) ... .milliseconds(800)
            }
        ) { _ in
            let count = served.withLock { $0 += 1; return $0 }
            guard count > 20 else { return .classification() }
            let since = downSince.withLock { value in
                if value == nil { value = .now }
                return value!
            }
            return ContinuousClock.now - since < .seconds(3) ? .status(503, body: "maintenance") : .classification()
        }
        #expect(record.state == .completed, "\(record.error ?? "")")
        #expect(record.statistics.classified == 60)
        #expect(record.statistics.failed == 0)
        #expect(record.statistics.retried == 0, "no failed attempt was counted against a query")
        #expect((record.statistics.errorsByKind["server_error"] ?? 0) >= 3)
        #expect(try await store.summary().byStatus == ["classified": 60])
        let all = try await store.list(QueryFilter(), after: nil, limit: 100)
        #expect(all.allSatisfy { $0.attempts == 1 && $0.lastError == nil }, "no attempt spent on the outage")
        // While paused the run probed with one query at a time, not the whole backlog.
        #expect(server.requestCount < 60 + 30)
    }

    @Test("one query the provider always fails while it answers the rest keeps per-query handling")
    func oneBadQueryStillFails() async throws {
        let (record, store, _) = try await LLMProcessingTests().run(
            queries: 6, configure: { $0.retryBudget = 0 }, processor: { $0.maxAttempts = 2 }
        ) { request in
            request.firstUserMessage.contains("query 3:") ? .status(502, body: "bad gateway") : .classification()
        }
        #expect(record.state == .completed)
        #expect(record.statistics.classified == 5)
        #expect(record.statistics.failed == 1)
        let failed = try #require(try await store.list(QueryFilter(status: .failed), after: nil, limit: 5).first)
        #expect(failed.attempts == 2)
        #expect(failed.lastError?.kind == "server_error")
    }
}
