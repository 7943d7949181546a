import ArgumentParser
import Foundation
import TriageCore
import TriageProcessor

extension Triage {
    struct Work: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep classifying new pending queries as they arrive, until stopped.",
            discussion: """
                A long-running worker: it classifies the backlog like `triage run`, then keeps polling the store \
                for new pending queries (every 0.2 s while work keeps arriving, backing off to every 5 s when the \
                store stays empty). Any number of workers may share one store: work moves through leases, and no \
                query is classified twice.

                SIGTERM or Ctrl-C stops it gently: it claims nothing more, finishes the classifications in flight, \
                hands the rest back to pending, prints the statistics and exits 0. A second signal hands in-flight \
                queries back at once. Exit status 2 when it stopped on an error (the queries it held are pending \
                again).

                With --via batch it gathers new queries for up to --batch-window-seconds (or until \
                --batch-max-requests), sends them as one provider batch at half the price, and keeps gathering \
                while the batch runs. SIGTERM stops sending and keeps following the batches sent; a second signal \
                leaves them, recorded in the store, for the next worker.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var format: OutputOptions
        @OptionGroup var processing: ProcessorOptions

        @Option(help: ArgumentHelp("Write the statistics as JSON to this file when the worker stops.", valueName: "file"))
        var output: String?

        func run() async throws {
            let config = try settings.reader(store, classifier, processing)
            var processor = try config.processor(classifierName: "")
            processor.continuous = true
            let store = try await config.openStore()
            FileHandle.standardError.write(Data(
                "Working on \(try config.storeConfiguration().displayURI): classifying pending queries as they arrive (SIGTERM or Ctrl-C to stop)\n".utf8
            ))
            let record = try await config.withClassifier(concurrency: processor.maxConcurrent, store: store) { classifier, name in
                processor.classifierName = name
                return try await RunSession.execute(
                    store: store, classifier: classifier, configuration: processor, showProgress: false
                )
            }
            if let output {
                try Data((try Format.json(record) + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            print(format.json ? try Format.json(record) : RunReport.render(record))
            if record.state == .failed {
                FileHandle.standardError.write(Data("error: \(record.error ?? "the worker failed")\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
