import AsyncHTTPClient
import Foundation
import TestSupport
import TriageCore
import TriageLLM
import TriageProcessor
import TriageSQLite

extension Bench {
    /// Runs the processor with an HTTP classifier against `baseURL`.
    static func runHTTP(
        store: SQLiteQueryStore, baseURL: String, model: String = "fake", concurrency: Int,
        configure: (inout LLMConfiguration) -> Void = { _ in },
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) async throws -> (RunRecord, throttled: Int) {
        var configuration = LLMConfiguration(provider: .openAI, baseURL: baseURL, model: model)
        configuration.requestTimeout = .seconds(300)
        configure(&configuration)
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        let classifier = LLMClassifier(configuration: configuration, taxonomy: .customerSupport, client: client, logger: silent)
        var settings = BatchProcessor.Configuration()
        settings.batchSize = max(50, concurrency)
        settings.maxConcurrent = concurrency
        do {
            let run = try await BatchProcessor(store: store, classifier: classifier, configuration: settings,
                                               logger: silent).run(onProgress: onProgress)
            let throttled = await classifier.throttledResponses
            try await client.shutdown()
            return (run, throttled)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: (d) rate-limit fidelity

    static func rateLimitFidelity() async throws {
        let asked = 540.0
        let seconds = Double(ProcessInfo.processInfo.environment["BENCH_RATELIMIT_SECONDS"].flatMap(Int.init) ?? 60)
        let count = Int(asked / 60 * seconds)
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await filledStore(count: count, in: folder)
        // The provider allows 600 RPM, enforced as 10 requests in any second.
        let server = FakeLLMServer(requestsPerSecond: 10) { _ in .classification(after: .milliseconds(50)) }
        let (run, _) = try await server.run {
            try await runHTTP(store: store, baseURL: server.openAIBaseURL, concurrency: 32) {
                $0.requestsPerMinute = asked
            }
        }
        let achieved = Double(server.requestCount) / run.statistics.durationSeconds * 60
        print("""
            (d) rate-limit fidelity: provider enforces 600 RPM as 10/s, Triage asked for --rpm \(Int(asked)), \
            \(count) queries over \(String(format: "%.1f", run.statistics.durationSeconds)) s, 32 in flight:
                achieved \(String(format: "%.1f", achieved)) RPM = \(String(format: "%.3f", achieved / asked)) of asked; \
            429s provoked: \(server.throttledCount); classified \(run.statistics.classified)/\(count)
            """)
    }

    // MARK: (e) pipeline efficiency over real HTTP

    static func httpEfficiency(repeats: Int) async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_HTTP_COUNT"].flatMap(Int.init) ?? 20_000
        let concurrency = 64
        var steady: [Double] = []
        var whole: [Double] = []
        for _ in 0..<repeats {
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = try await filledStore(count: count, in: folder)
            let seed = UInt64.random(in: 1...UInt64.max)
            let server = FakeLLMServer { request in
                var random = SeededGenerator(seed: seed &+ UInt64(request.index))
                let u1 = max(Double.random(in: 0..<1, using: &random), .leastNonzeroMagnitude)
                let u2 = Double.random(in: 0..<1, using: &random)
                let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                return .classification(after: .milliseconds(200) * exp(z))
            }
            let marks = Marks()
            let (run, _) = try await server.run {
                try await runHTTP(store: store, baseURL: server.openAIBaseURL, concurrency: concurrency, onProgress: { progress in
                    marks.note(done: progress.done, of: count)
                })
            }
            precondition(run.statistics.classified == count, "expected every query classified")
            let ideal = Double(concurrency) / (run.statistics.latencyMs.mean / 1000)
            steady.append(marks.steadyRate() / ideal)
            whole.append(Double(count) / run.statistics.durationSeconds / ideal)
        }
        print("""
            (e) pipeline efficiency through real HTTP to the fake provider, log-normal latency (median 200 ms, \
            sigma 1.0), \(concurrency) in flight, \(count) queries:
                while work remains (10%→90% done): \(String(format: "%.3f", median(steady))) of 64 ÷ mean latency   \
            (runs: \(format(steady, 3)))
                whole run, drain included: \(String(format: "%.3f", median(whole)))   (runs: \(format(whole, 3)))
            """)
    }

    // MARK: (f) a real model

    static func smolLM2() async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_SMOLLM2_COUNT"].flatMap(Int.init) ?? 24
        var lines: [String] = []
        for slots in [1, 2, 4] {
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = try await filledStore(count: count, in: folder)
            let (run, _) = try await LlamaServer.run(slots: slots) { base in
                try await runHTTP(store: store, baseURL: base, model: "smollm2", concurrency: slots)
            }
            let s = run.statistics
            let valid = s.errorsByKind["invalid_output"] ?? 0
            lines.append("    \(slots) slot\(slots == 1 ? " " : "s"): \(String(format: "%.2f", s.queriesPerSecond)) queries/s, "
                         + "classified \(s.classified)/\(count), invalid outputs \(valid), p50 \(Int(s.latencyMs.p50)) ms")
        }
        print("(f) SmolLM2-135M-Instruct on llama.cpp's server (loopback, 2 threads), \(count) queries, JSON-schema output:\n"
              + lines.joined(separator: "\n"))
    }
}
