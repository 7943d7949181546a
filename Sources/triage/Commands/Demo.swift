import ArgumentParser
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
import TriageProcessor

extension Triage {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the whole workflow on sample data with the mock classifier; no setup, no services.",
            discussion: """
                Creates a temporary SQLite store, imports generated sample queries, classifies them with the \
                mock classifier (realistic heavy-tailed latency and a few injected failures, retried with \
                backoff), then prints the statistics and a table of results. Nothing outside the temporary \
                folder is touched.
                """
        )

        @Option(help: "How many sample queries to generate.")
        var count = 300

        @Option(help: "Classifications in flight at once.")
        var maxConcurrent = 32

        @Option(help: ArgumentHelp("Median latency of the mock classifier.", valueName: "ms"))
        var latencyMs = 150.0

        @Option(help: ArgumentHelp("Share of mock attempts that fail transiently, 0 to 1.", valueName: "rate"))
        var failureRate = 0.05

        @Flag(help: "Keep the temporary store and print its path.")
        var keep = false

        func validate() throws {
            guard count > 0 else { throw ValidationError("--count must be at least 1") }
            guard maxConcurrent > 0 else { throw ValidationError("--max-concurrent must be at least 1") }
            guard latencyMs >= 0 else { throw ValidationError("--latency-ms must be 0 or more") }
            guard (0...1).contains(failureRate) else { throw ValidationError("--failure-rate must be between 0 and 1") }
        }

        func run() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-demo-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { if !keep { try? FileManager.default.removeItem(at: folder) } }
            let location = StoreLocation.sqliteFile(path: folder.appendingPathComponent("demo.sqlite").path)
            let store = try StoreFactory.open(location)

            print("Triage demo: \(count) sample queries, mock classifier (median \(Int(latencyMs)) ms, "
                  + "\(Int(failureRate * 100))% transient failures), \(maxConcurrent) in flight.\n")
            let imported = try await store.insert(SampleQueries.generate(count: count, seed: UInt64(Date().timeIntervalSince1970)))
            print("1. Imported \(imported.inserted) queries into \(location).")

            var mock = MockClassifier.Configuration()
            mock.latency = latencyMs > 0 ? .logNormal(median: .milliseconds(latencyMs), sigma: 0.6) : .none
            mock.failureRate = failureRate
            mock.seed = UInt64.random(in: 1...UInt64.max)
            var configuration = BatchProcessor.Configuration()
            configuration.batchSize = max(50, maxConcurrent)
            configuration.maxConcurrent = maxConcurrent
            configuration.retryPolicy = RetryPolicy(base: .milliseconds(300), maximum: .seconds(5))
            configuration.classifierName = "mock"
            print("2. Classifying…")
            let record = try await RunSession.execute(
                store: store, classifier: MockClassifier(configuration: mock), configuration: configuration
            )
            print("\n3. Statistics\n")
            print(RunReport.render(record))

            print("\n4. Sample results\n")
            let sample = try await store.list(QueryFilter(), after: nil, limit: 10)
            print(Self.resultsTable(sample))
            let summary = try await store.summary()
            print("\nStore: \(summary.count(.classified)) classified, \(summary.count(.failed)) failed, "
                  + "\(summary.count(.pending)) pending.")
            if keep {
                print("The store is kept at \(location); try: triage stats --store \(location)")
            }
            print("Next: triage import --file your-queries.jsonl && triage run --mock-llm   (see triage --help)")
        }

        static func resultsTable(_ records: [QueryRecord]) -> String {
            var lines = [
                "\(Format.pad("category", 18)) \(Format.pad("priority", 8)) \(Format.pad("sentiment", 9)) "
                    + "\(Format.pad("lang", 4)) \(Format.pad("conf", 4))  summary",
            ]
            for record in records {
                guard let c = record.classification else {
                    lines.append("\(Format.pad("(\(record.status.rawValue))", 18)) \(String(repeating: " ", count: 32)) "
                                 + (record.lastError?.kind ?? ""))
                    continue
                }
                lines.append("\(Format.pad(c.category, 18)) \(Format.pad(c.priority, 8)) \(Format.pad(c.sentiment, 9)) "
                             + "\(Format.pad(c.language, 4)) \(String(format: "%.2f", c.confidence))  \(Format.cut(c.summary, 60))")
            }
            return lines.joined(separator: "\n")
        }
    }
}
