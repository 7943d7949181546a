import Foundation
import Synchronization
import TestSupport
import TriageCore
import TriageProcessor

extension Bench {
    // MARK: (i) provider outage

    /// The provider goes away mid-run, after the first 500 of 2,000 requests, for `BENCH_OUTAGE_SECONDS` (default
    /// 120): for the first half its server is gone (connections refused), for the second half it answers 503 to
    /// everything; then it answers again. The attempts the run spent on the outage (the goal is none), and how soon
    /// after the provider's return the run classified again.
    static func outage() async throws {
        let environment = ProcessInfo.processInfo.environment
        let outage = Duration.seconds(environment["BENCH_OUTAGE_SECONDS"].flatMap(Int.init) ?? 120)
        let count = 2_000
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await filledStore(count: count, in: folder)
        struct Window {
            var served = 0
            var refused = 0
            var firstAnswerAfter: ContinuousClock.Instant?
        }
        let window = Mutex(Window())
        let first = FakeLLMServer { _ in
            window.withLock { $0.served += 1 }
            return .classification(after: .milliseconds(50))
        }
        let running = try await first.run {
            let running = Task { try await runHTTP(store: store, baseURL: first.openAIBaseURL, concurrency: 16).0 }
            while window.withLock({ $0.served }) < 500 { try await Task.sleep(for: .milliseconds(10)) }
            return running
        }
        // The server is gone: connections refused.
        let down = ContinuousClock.now
        try await Task.sleep(for: outage / 2)
        // Back on the same port, answering 503 until the outage is over.
        let second = FakeLLMServer(port: first.listeningPort) { _ in
            window.withLock { state in
                if ContinuousClock.now - down < outage {
                    state.refused += 1
                    return .status(503, body: #"{"error": {"message": "down for maintenance"}}"#)
                }
                if state.firstAnswerAfter == nil { state.firstAnswerAfter = .now }
                return .classification(after: .milliseconds(50))
            }
        }
        let run = try await second.run { try await running.value }
        var spent = 0
        var cursor: QueryID?
        while true {
            let page = try await store.list(QueryFilter(), after: cursor, limit: 1_000)
            spent += page.map { max(0, $0.attempts - 1) }.reduce(0, +)
            guard let last = page.last, page.count == 1_000 else { break }
            cursor = last.id
        }
        let state = window.withLock { $0 }
        let resumed = state.firstAnswerAfter.map { ($0 - (down + outage)).timeInterval }
        print("""
            (i) provider outage after the first 500 of \(count) queries, 16 in flight: connections refused for \
            \(outage / 2), then 503 to everything for \(outage / 2):
                attempts spent on the outage \(spent) (goal 0), failed \(run.statistics.failed), \
            requests answered 503 \(state.refused); first answer \(resumed.map { String(format: "%.1f s", $0) } ?? "n/a") \
            after the provider returned; run \(run.state.rawValue), \(run.statistics.classified)/\(count) classified in \
            \(String(format: "%.1f", run.statistics.durationSeconds)) s
            """)
    }
}
