#if MongoDB
import Foundation
import MongoTestSupport
import TestSupport
import TriageCore
import TriageIngest
import TriageLLM
import TriageMongo
import TriageProcessor

extension Bench {
    // MARK: (g) MongoDB

    /// End-to-end throughput through libmongoc: against `MONGODB_URI` when set, otherwise the wire-protocol test server.
    /// The test server is one Python thread and mongomock scans every document on each write (no indexes), so against
    /// it the figure is the test server's ceiling and falls as the collection grows; it says nothing of Triage on a
    /// real server. `BENCH_MONGO_COUNT` sets the number of queries (default 1,000).
    static func mongo(repeats: Int) async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_MONGO_COUNT"].flatMap(Int.init) ?? 1_000
        var rates: [Double] = []
        var target = "MongoDB"
        for _ in 0..<repeats {
            let where_ = try await MongoTarget.make()
            target = where_.server == nil ? "the MONGODB_URI server" : "the wire-protocol test server (Python)"
            let store = try await MongoQueryStore(configuration: .init(uri: where_.uri, database: where_.database))
            var seed: UInt64 = 1
            var inserted = 0
            while inserted < count {
                let chunk = min(1_000, count - inserted)
                _ = try await store.insert(SampleQueries.generate(count: chunk, seed: seed))
                inserted += chunk
                seed += 1
            }
            var configuration = BatchProcessor.Configuration()
            configuration.batchSize = 200
            configuration.maxConcurrent = 64
            let run = try await BatchProcessor(store: store, classifier: MockClassifier(), configuration: configuration,
                                               logger: silent).run()
            precondition(run.statistics.classified == count, "expected every query classified")
            rates.append(Double(count) / run.statistics.durationSeconds)
            if where_.server == nil { try await store.drop() }
            await store.close()
            where_.server?.stop()
        }
        print("""
            (g) end to end through libmongoc to \(target), zero-latency mock, \(count) queries, 64 in flight:
                \(String(format: "%.0f", median(rates))) queries/s   (runs: \(format(rates)))
            """)
    }
}
#endif
