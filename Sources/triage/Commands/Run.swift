import ArgumentParser
import Foundation
import TriageCore
import TriageIngest
import TriageProcessor

extension Triage {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify the pending backlog.",
            discussion: """
                Claims pending queries in batches, keeps up to --max-concurrent classifications in flight, and \
                writes each result as it lands. A failed attempt is retried later with exponential backoff; after \
                --max-attempts the query is marked failed with its error. Ctrl-C stops claiming and finishes what \
                is in flight; a second Ctrl-C hands in-flight queries back to pending at once.

                Exit status: 0 when the run completed, 2 when it stopped on an error (the queries it held are \
                pending again), 130 when it was interrupted.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var format: OutputOptions
        @OptionGroup var processing: ProcessorOptions

        @Option(help: "Stop after this many queries.")
        var limit: Int?

        @Option(help: ArgumentHelp(
            "Write the run's statistics as JSON to this file (with --dry-run: the queries that would be processed).",
            valueName: "file"
        ))
        var output: String?

        @Flag(help: "Report what would be processed and change nothing.")
        var dryRun = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let store = try await self.store.open()
            if dryRun {
                try await runDry(store)
                return
            }
            let record = try await classifier.withClassifier(concurrency: processing.maxConcurrent, store: store) { classifier, name in
                try await classify(store: store, classifier: classifier, name: name)
            }
            if let output {
                try Data((try Format.json(record) + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            print(format.json ? try Format.json(record) : RunReport.render(record))
            switch record.state {
            case .failed:
                FileHandle.standardError.write(Data("error: \(record.error ?? "the run failed")\n".utf8))
                throw ExitCode(2)
            case .cancelled:
                throw ExitCode(130)
            case .completed, .running:
                break
            }
        }

        private func classify(store: any QueryStore, classifier: any Classifier, name: String) async throws -> RunRecord {
            var configuration = processing.configuration(classifierName: name)
            configuration.limit = limit
            return try await RunSession.execute(store: store, classifier: classifier, configuration: configuration)
        }

        private func runDry(_ store: any QueryStore) async throws {
            let now = Date()
            let eligible = try await store.eligibleCount(now: now)
            let wouldProcess = min(eligible, limit ?? .max)
            if let output {
                try await AtomicFile.write(to: output) { handle in
                    var writer = ExportWriter(format: .json, output: handle)
                    try writer.begin()
                    // The same queries the count counts, and no more than the run would take: stop reading there.
                    var records = store.export(QueryFilter(eligibleAt: now), pageSize: min(500, max(1, wouldProcess)))
                        .makeAsyncIterator()
                    for _ in 0..<wouldProcess {
                        guard let record = try await records.next() else { break }
                        try writer.write(record)
                    }
                    try writer.end()
                }
            }
            let summary = try await store.summary()
            if format.json {
                struct DryRun: Encodable {
                    var wouldProcess: Int
                    var eligible: Int
                    var byStatus: [String: Int]
                    var output: String?
                }
                print(try Format.json(DryRun(wouldProcess: wouldProcess, eligible: eligible,
                                             byStatus: summary.byStatus, output: output)))
            } else {
                print("Dry run: would classify \(Format.count(wouldProcess)) of \(Format.count(eligible)) eligible queries "
                      + "(\(Format.count(summary.total)) in the store). Nothing was changed.")
                if let output { print("The queries that would be processed are in \(output).") }
            }
        }
    }
}
