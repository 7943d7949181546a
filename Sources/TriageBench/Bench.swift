import Foundation
import Logging
import TriageCore
import TriageIngest
import TriageLLM
import TriageProcessor
import TriageSQLite
import TestSupport
import AsyncHTTPClient

/// `triage-bench`: the figures we quote, measured on a release build.
///
///     swift run -c release triage-bench            # everything
///     swift run -c release triage-bench throughput # one part: throughput | efficiency | memory | ratelimit | http
///                                                  # | smollm2 | retrieval | quality | outage | fleet
///                                                  # | scale | cost | ingest | privacy | mongo
@main
struct Bench {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "memory-child", let count = arguments.dropFirst().first.flatMap(Int.init) {
            try await memoryChild(count: count)
            return
        }
        let part = arguments.first ?? "all"
        let repeats = ProcessInfo.processInfo.environment["BENCH_REPEATS"].flatMap(Int.init) ?? 3
        print("Triage benchmark: release build, \(ProcessInfo.processInfo.activeProcessorCount) cores; medians of \(repeats) runs")
        if part == "all" || part == "throughput" { try await throughput(repeats: repeats) }
        if part == "all" || part == "efficiency" { try await efficiency(repeats: repeats) }
        if part == "all" || part == "memory" { try memory() }
        if part == "all" || part == "ratelimit" { try await rateLimitFidelity() }
        if part == "all" || part == "http" { try await httpEfficiency(repeats: repeats) }
        if part == "all" || part == "smollm2" { try await smolLM2() }
        if part == "all" || part == "retrieval" { try retrieval() }
        if part == "all" || part == "quality" { try await quality() }
        if part == "all" || part == "outage" { try await outage() }
        if part == "all" || part == "fleet" { try await fleet() }
        if part == "all" || part == "scale" { try await scale() }
        if part == "all" || part == "cost" { try await cost() }
        if part == "all" || part == "ingest" { try await ingestion(repeats: repeats) }
        if part == "all" || part == "privacy" {
            try privacy()
            try await privacyAccuracy()
        }
        #if MongoDB
        if part == "all" || part == "mongo" { try await mongo(repeats: repeats) }
        #endif
    }

    static let silent = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A file store in a fresh folder, filled with `count` sample queries in chunks (so the bench holds little).
    static func filledStore(count: Int, in folder: URL) async throws -> SQLiteQueryStore {
        let store = try SQLiteQueryStore(location: .sqliteFile(path: folder.appendingPathComponent("bench.sqlite").path))
        var inserted = 0
        var seed: UInt64 = 1
        while inserted < count {
            let chunk = min(5_000, count - inserted)
            _ = try await store.insert(SampleQueries.generate(count: chunk, seed: seed))
            inserted += chunk
            seed += 1
        }
        return store
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("triage-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func format(_ values: [Double], _ digits: Int = 0) -> String {
        values.map { String(format: "%.\(digits)f", $0) }.joined(separator: ", ")
    }

    /// Imports `count` sample queries into a fresh file store and classifies them all with the zero-latency mock.
    static func zeroLatencyRun(count: Int, inFlight: Int = 64) async throws -> RunRecord {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await filledStore(count: count, in: folder)
        var configuration = BatchProcessor.Configuration()
        configuration.batchSize = 500
        configuration.maxConcurrent = inFlight
        let run = try await BatchProcessor(store: store, classifier: MockClassifier(), configuration: configuration,
                                           logger: silent).run()
        precondition(run.statistics.classified == count, "expected every query classified")
        return run
    }

    // MARK: (a) throughput

    /// Results are written in groups (one transaction for those that landed meanwhile), and a claim takes at most
    /// what the run has slots for: with a zero-latency classifier, more slots mean bigger claims and groups.
    static func throughput(repeats: Int) async throws {
        let count = 100_000
        var rates: [Int: [Double]] = [:]
        for _ in 0..<repeats {
            for inFlight in [64, 500] {
                let run = try await zeroLatencyRun(count: count, inFlight: inFlight)
                rates[inFlight, default: []].append(Double(count) / run.statistics.durationSeconds)
            }
        }
        print("(a) end to end, claim → mock classify (zero latency) → write, file SQLite, \(count) queries:")
        for inFlight in [64, 500] {
            let values = rates[inFlight] ?? []
            print("    \(inFlight) in flight: \(String(format: "%.0f", median(values))) queries/s   (runs: \(format(values)))")
        }
    }

    // MARK: (b) pipeline efficiency

    static func efficiency(repeats: Int) async throws {
        // Long enough that the drain of the last heavy-tailed stragglers (seconds, whatever the count) is a small
        // share of the run.
        let count = ProcessInfo.processInfo.environment["BENCH_EFFICIENCY_COUNT"].flatMap(Int.init) ?? 20_000
        let concurrency = 64
        var whole: [Double] = []
        var steady: [Double] = []
        for _ in 0..<repeats {
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = try await filledStore(count: count, in: folder)
            var mock = MockClassifier.Configuration()
            mock.latency = .logNormal(median: .milliseconds(200), sigma: 1.0)
            mock.seed = UInt64.random(in: 1...UInt64.max)
            var configuration = BatchProcessor.Configuration()
            configuration.batchSize = 50
            configuration.maxConcurrent = concurrency
            let marks = Marks()
            let run = try await BatchProcessor(store: store, classifier: MockClassifier(configuration: mock),
                                               configuration: configuration, logger: silent).run { progress in
                marks.note(done: progress.done, of: count)
            }
            precondition(run.statistics.classified == count, "expected every query classified")
            // The ideal uses the latencies this run actually drew, so sampling luck does not flatter or blame us.
            let meanSeconds = run.statistics.latencyMs.mean / 1000
            let ideal = Double(concurrency) / meanSeconds
            whole.append(Double(count) / run.statistics.durationSeconds / ideal)
            steady.append(marks.steadyRate() / ideal)
        }
        print("""
            (b) pipeline efficiency, log-normal mock latency (median 200 ms, sigma 1.0), \(concurrency) in flight, \
            \(count) queries, file SQLite:
                while work remains (10%→90% done): \(String(format: "%.3f", median(steady))) of 64 ÷ mean latency   \
            (runs: \(format(steady, 3)))
                whole run, drain of the last stragglers included: \(String(format: "%.3f", median(whole)))   \
            (runs: \(format(whole, 3)))
            """)
    }

    /// When the run passed 10% and 90% done.
    final class Marks: @unchecked Sendable {
        // Guarded by `lock`: progress callbacks come from the processor's task.
        private let lock = NSLock()
        private var at10: (Int, ContinuousClock.Instant)?
        private var at90: (Int, ContinuousClock.Instant)?

        func note(done: Int, of total: Int) {
            lock.lock()
            defer { lock.unlock() }
            if at10 == nil, done >= total / 10 { at10 = (done, .now) }
            if at90 == nil, done >= total * 9 / 10 { at90 = (done, .now) }
        }

        func steadyRate() -> Double {
            lock.lock()
            defer { lock.unlock() }
            guard let start = at10, let end = at90 else { return 0 }
            let elapsed = end.1 - start.1
            return Double(end.0 - start.0) / elapsed.timeInterval
        }
    }

    // MARK: (c) memory

    static func memory() throws {
        var peaks: [Int: [Double]] = [:]
        for count in [10_000, 100_000] {
            for _ in 0..<3 {
                peaks[count, default: []].append(try measureChild(count: count))
            }
        }
        let small = median(peaks[10_000] ?? [])
        let large = median(peaks[100_000] ?? [])
        print("""
            (c) peak resident memory of a whole import + run (fresh process each, zero-latency mock, file SQLite):
                10,000 queries: \(String(format: "%.1f", small)) MiB   (runs: \(format(peaks[10_000] ?? [], 1)))
                100,000 queries: \(String(format: "%.1f", large)) MiB   (runs: \(format(peaks[100_000] ?? [], 1)))
                ratio 100k ÷ 10k: \(String(format: "%.2f", large / small))
            """)
    }

    static func measureChild(count: Int) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["memory-child", String(count)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let kib = Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchError("memory child for \(count) queries failed")
        }
        return kib / 1024
    }

    static func memoryChild(count: Int) async throws {
        _ = try await zeroLatencyRun(count: count)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(usage.ru_maxrss)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
