import ArgumentParser
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
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

                With --via batch the backlog goes through the provider's batch API at half the price: each batch is \
                recorded in the store before it is paid for, and a run started again follows the same batches. \
                Ctrl-C stops sending batches and keeps following the ones sent; a second Ctrl-C stops at once, \
                hands back what was not sent, and leaves the sent batches for the next run.

                Exit status: 0 when the run completed, 2 when it stopped on an error (the queries it held are \
                pending again), 130 when it was interrupted.
                """
        )

        @OptionGroup var settings: ConfigOptions
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

        @Flag(help: "Report what would be processed, with its tokens, cost (online and batch), reuse and time estimated from the requests it would send; send nothing and change nothing.")
        var dryRun = false

        @Option(help: ArgumentHelp(
            "With --dry-run: print the first N requests exactly as they would be sent (the JSON body, one a line, "
                + "redacted as it would be), to check what leaves the machine.", valueName: "n"))
        var showRequests: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            if let showRequests {
                guard dryRun else { throw ValidationError("--show-requests goes with --dry-run") }
                guard showRequests >= 1 else { throw ValidationError("--show-requests must be at least 1") }
            }
        }

        func run() async throws {
            let config = try settings.reader(store, classifier, processing)
            var processor = try config.processor(classifierName: "")
            processor.limit = limit
            let store = try await config.openStore()
            if dryRun {
                try await runDry(store, config: config, processor: processor)
                return
            }
            let record = try await config.withClassifier(concurrency: processor.maxConcurrent, store: store) { classifier, name in
                processor.classifierName = name
                return try await RunSession.execute(store: store, classifier: classifier, configuration: processor)
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

        /// Reads what a run would take, once: lists it to `--output`, and estimates what it would send and spend from
        /// the requests the classifier would build. Nothing is sent and nothing changes.
        private func runDry(_ store: any QueryStore, config: TriageConfig,
                            processor: BatchProcessor.Configuration) async throws {
            let now = Date()
            let eligible = try await store.eligibleCount(now: now)
            let wouldProcess = min(eligible, limit ?? .max)
            // Without a classifier chosen there is nothing to estimate with: the count and the list alone.
            let settings = try? config.classifierSettings()
            let estimate: RunEstimate?
            var requests: [ShownRequest] = []
            if let settings {
                (estimate, requests) = try await config.withClassifier(concurrency: processor.maxConcurrent,
                                                                       store: store) { classifier, name in
                    let estimate = try await readBacklog(store, now: now, count: wouldProcess, estimating: classifier,
                                                         name: name, settings: settings, processor: processor)
                    return (estimate, try await shownRequests(store, now: now, count: min(wouldProcess, showRequests ?? 0),
                                                              classifier: classifier))
                }
            } else {
                if showRequests != nil {
                    throw CLIError("--show-requests needs a classifier (--llm openai, --llm anthropic or --mock-llm)")
                }
                estimate = try await readBacklog(store, now: now, count: wouldProcess, estimating: nil, name: "",
                                                 settings: nil, processor: processor)
            }
            let summary = try await store.summary()
            if format.json {
                struct DryRun: Encodable {
                    var wouldProcess: Int
                    var eligible: Int
                    var byStatus: [String: Int]
                    var output: String?
                    var estimate: RunEstimate?
                    var requests: [ShownRequest]?
                }
                print(try Format.json(DryRun(wouldProcess: wouldProcess, eligible: eligible,
                                             byStatus: summary.byStatus, output: output, estimate: estimate,
                                             requests: showRequests == nil ? nil : requests)))
            } else {
                print("Dry run: would classify \(Format.count(wouldProcess)) of \(Format.count(eligible)) eligible queries "
                      + "(\(Format.count(summary.total)) in the store). Nothing was changed.")
                if let estimate { print(EstimateReport.render(estimate, concurrency: processor.maxConcurrent)) }
                if let output { print("The queries that would be processed are in \(output).") }
                if showRequests != nil {
                    print("The first \(requests.count) requests, as they would be sent:")
                    for shown in requests { print("query \(shown.id): " + (shown.body ?? "(\(shown.note ?? ""))")) }
                }
            }
        }

        /// One request a dry run shows: the body that would be sent for a query, or why none would be.
        struct ShownRequest: Encodable {
            var id: String
            /// The JSON body exactly as it would be sent.
            var body: String?
            var note: String?
        }

        /// The requests the first `count` queries a run at `now` would take would send, built by the classifier
        /// itself (its batch lines carry the same body as its first online request).
        private func shownRequests(_ store: any QueryStore, now: Date, count: Int,
                                   classifier: any Classifier) async throws -> [ShownRequest] {
            guard count > 0 else { return [] }
            var shown: [ShownRequest] = []
            for try await record in store.export(QueryFilter(eligibleAt: now), pageSize: count) {
                guard shown.count < count else { break }
                shown.append(Self.request(for: record.query, id: record.id.rawValue, classifier: classifier))
            }
            return shown
        }

        static func request(for query: SupportQuery, id: String, classifier: any Classifier) -> ShownRequest {
            if classifier.answerWithoutCall(query) != nil {
                return ShownRequest(id: id, note: "answered by the labelled examples: nothing would be sent")
            }
            guard let batches = classifier.batches else {
                return ShownRequest(id: id, note: "the mock classifier sends nothing")
            }
            do {
                return ShownRequest(id: id, body: String(decoding: try batches.requestBody(for: query), as: UTF8.self))
            } catch {
                return ShownRequest(id: id, note: "no request: \(error)")
            }
        }

        /// Reads the `count` queries a run at `now` would take: lists them to `--output`, and with a classifier,
        /// estimates what the run would send and spend.
        private func readBacklog(_ store: any QueryStore, now: Date, count: Int, estimating classifier: (any Classifier)?,
                                 name: String, settings: ClassifierSettings.Resolved?,
                                 processor: BatchProcessor.Configuration) async throws -> RunEstimate? {
            var estimator = classifier.map {
                RunEstimate.Builder(classifier: $0, reuse: processor.reuse ? $0.reuseScope : nil)
            }
            // The same queries the count counts, and no more than the run would take: stop reading there.
            var records = store.export(QueryFilter(eligibleAt: now), pageSize: min(500, max(1, count)))
                .makeAsyncIterator()
            try await AtomicFile.writeIfAsked(to: output) { handle in
                var writer = handle.map { ExportWriter(format: .json, output: $0) }
                try writer?.begin()
                for _ in 0..<count {
                    guard estimator != nil || writer != nil, let record = try await records.next() else { break }
                    try writer?.write(record)
                    try await estimator?.add(record.query, store: store)
                }
                try writer?.end()
            }
            guard var estimator else { return nil }
            try await estimator.finishReuse(store: store)
            let lastRun = try await store.runs(limit: 20).first(where: {
                $0.options.classifier == name && $0.statistics.latencyMs.mean > 0
            })
            return estimator.estimate(
                requestsPerMinute: settings?.llm?.requestsPerMinute, tokensPerMinute: settings?.llm?.tokensPerMinute,
                concurrency: processor.maxConcurrent,
                latencySeconds: lastRun.map { $0.statistics.latencyMs.mean / 1000 })
        }
    }
}
