import Foundation
import Synchronization
import TestSupport
import TriageCore
import TriageProcessor

extension Bench {
    // MARK: (i) provider outage

    /// The provider stops answering mid-run (a 503 to everything after the first 500 requests) for
    /// `BENCH_OUTAGE_SECONDS` (default 120), then answers again: the attempts the run spent on the outage (the goal is
    /// none), and how soon after the provider's return the run classified again.
    static func outage() async throws {
        let environment = ProcessInfo.processInfo.environment
        let outage = Duration.seconds(environment["BENCH_OUTAGE_SECONDS"].flatMap(Int.init) ?? 120)
        let count = 2_000
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await filledStore(count: count, in: folder)
        struct Window {
            var served = 0
            var start: ContinuousClock.Instant?
            var refused = 0
            var firstAnswerAfter: ContinuousClock.Instant?
        }
        let window = Mutex(Window())
        let server = FakeLLMServer { _ in
            window.withLock { state in
                state.served += 1
                guard state.served > 500 else { return .classification(after: .milliseconds(50)) }
                let start = state.start ?? .now
                state.start = start
                if ContinuousClock.now - start < outage {
                    state.refused += 1
                    return .status(503, body: #"{"error": {"message": "down for maintenance"}}"#)
                }
                if state.firstAnswerAfter == nil { state.firstAnswerAfter = .now }
                return .classification(after: .milliseconds(50))
            }
        }
        let (run, _) = try await server.run {
            try await runHTTP(store: store, baseURL: server.openAIBaseURL, concurrency: 16)
        }
        var spent = 0
        var cursor: QueryID?
        while true {
            let page = try await store.list(QueryFilter(), after: cursor, limit: 1_000)
            spent += page.map { max(0, $0.attempts - 1) }.reduce(0, +)
            guard let last = page.last, page.count == 1_000 else { break }
            cursor = last.id
        }
        let state = window.withLock { $0 }
        var resumed: Double?
        if let start = state.start, let answer = state.firstAnswerAfter {
            resumed = (answer - (start + outage)).timeInterval
        }
        print("""
            (i) provider outage: 503 to every request for \(outage) after the first 500, \(count) queries, 16 in flight:
                attempts spent on the outage \(spent) (goal 0), failed \(run.statistics.failed), \
            requests refused during it \(state.refused); first answer \(resumed.map { String(format: "%.1f s", $0) } ?? "n/a") \
            after the provider returned; run \(run.state.rawValue), \(run.statistics.classified)/\(count) classified in \
            \(String(format: "%.1f", run.statistics.durationSeconds)) s
            """)
    }
}
