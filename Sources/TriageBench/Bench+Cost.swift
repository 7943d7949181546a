import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import TriageCore
import TriageLLM
import TriageProcessor
import TriageSQLite

extension Bench {
    // MARK: cost

    /// What classifying generated queries costs at gpt-4o-mini's list prices, online and in batch mode, with and
    /// without reuse; the tokens are the fake provider's counts of the requests Triage sends.
    static func cost() async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_COST_COUNT"].flatMap(Int.init) ?? 10_000
        let server = FakeLLMServer(countsTokens: true, batches: .init(pollsInProgress: 0)) { _ in
            .classification(summary: "The customer asks about an order placed ten days ago that has not arrived.")
        }
        let modes: [(name: String, batch: Bool, reuse: Bool)] = [
            ("online", false, false), ("online + reuse", false, true), ("batch", true, false), ("batch + reuse", true, true),
        ]
        let results = try await server.run {
            var results: [(name: String, record: RunRecord)] = []
            for mode in modes {
                let folder = try temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                let store = try await filledStore(count: count, in: folder)
                results.append((mode.name, try await classify(store: store, baseURL: server.openAIBaseURL,
                                                              batch: mode.batch, reuse: mode.reuse)))
            }
            return results
        }
        let online = results.first?.record.statistics.costUSD ?? 0
        print("(cost) \(count) generated queries at gpt-4o-mini's list prices ($0.15 / $0.60 per million tokens, "
              + "half in batch mode), tokens counted by the fake provider:")
        print("    mode              classified  reused   prompt tokens  completion     cost   ÷ online")
        for (name, record) in results {
            let s = record.statistics
            print("    " + name.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + String(format: "%12d %7d %15d %11d %8.4f %10.3f", s.classified, s.reused ?? 0, s.tokens.prompt,
                           s.tokens.completion, s.costUSD, online > 0 ? s.costUSD / online : 0))
        }
    }

    /// Classifies the store through the fake, online (64 in flight) or in batch mode.
    static func classify(store: SQLiteQueryStore, baseURL: String, batch: Bool, reuse: Bool,
                         onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunRecord {
        var configuration = LLMConfiguration(provider: .openAI, baseURL: baseURL, model: "gpt-4o-mini", apiKey: "sk-bench")
        configuration.requestTimeout = .seconds(300)
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client,
                                       logger: silent)
        do {
            var settings = BatchProcessor.Configuration()
            settings.batchSize = 64
            settings.maxConcurrent = 64
            settings.reuse = reuse
            if batch {
                settings.via = .batch
                settings.batch.pollInterval = .milliseconds(20)
            }
            let record = try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                                  logger: silent).run(onProgress: onProgress)
            try await client.shutdown()
            return record
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: batch-result ingestion

    /// How fast a finished batch's results are written: from the provider saying `completed` to every line
    /// validated and written, file SQLite.
    static func ingestion(repeats: Int) async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_INGEST_COUNT"].flatMap(Int.init) ?? 50_000
        let server = FakeLLMServer(batches: .init(pollsInProgress: 0)) { _ in .classification() }
        let rates = try await server.run {
            var rates: [Double] = []
            for _ in 0..<repeats {
                let folder = try temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                let store = try await filledStore(count: count, in: folder)
                let completed = Marker()
                let record = try await classify(store: store, baseURL: server.openAIBaseURL, batch: true, reuse: false) {
                    if $0.batches?.contains(where: { $0.state == .completed }) == true { completed.mark() }
                }
                guard record.statistics.classified == count, let start = completed.at,
                      let end = record.statistics.finishedAt else { throw BenchError("batch ingestion did not finish") }
                rates.append(Double(count) / end.timeIntervalSince(start))
            }
            return rates
        }
        print("""
            (ingest) batch-result ingestion, \(count) lines, file SQLite: fetched, validated and written in groups:
                \(String(format: "%.0f", median(rates))) lines/s   (runs: \(format(rates)))
            """)
    }

    final class Marker: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var date: Date?

        func mark() {
            lock.lock()
            defer { lock.unlock() }
            if date == nil { date = Date() }
        }

        var at: Date? {
            lock.lock()
            defer { lock.unlock() }
            return date
        }
    }
}
