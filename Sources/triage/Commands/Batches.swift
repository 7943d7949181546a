import ArgumentParser
import Foundation
import TriageCore
import TriageLLM
import TriageProcessor

extension Triage {
    struct Batches: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the provider batches of the store (triage run --via batch), or cancel one.",
            discussion: """
                Each batch is listed with its state as last polled and the provider's counts. A batch still at the \
                provider is followed by the next `triage run --via batch` (or a `work` or `serve --workers` in batch mode); `triage batches cancel ID` asks the \
                provider to cancel it (its finished lines are still written, the rest go back to pending).
                """,
            subcommands: [List.self, Cancel.self],
            defaultSubcommand: List.self
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the store's provider batches, newest first.")

            @OptionGroup var settings: ConfigOptions
            @OptionGroup var store: StoreOptions
            @OptionGroup var format: OutputOptions

            @Option(help: "How many to list.")
            var limit = 50

            func run() async throws {
                let batches = try await settings.reader(store).openStore().batches(limit: limit)
                if format.json {
                    print(try Format.json(batches))
                    return
                }
                guard !batches.isEmpty else {
                    print("No provider batches in the store: triage run --via batch submits them.")
                    return
                }
                print("\(Format.pad("batch", 30)) \(Format.pad("provider", 10)) \(Format.pad("state", 12)) "
                      + "\(Format.right("queries", 8)) \(Format.right("done", 8)) \(Format.right("failed", 7))  created")
                for batch in batches {
                    print("\(Format.pad(batch.providerBatchId ?? batch.id, 30)) \(Format.pad(batch.provider, 10)) "
                          + "\(Format.pad(batch.state.rawValue, 12)) \(Format.right(Format.count(batch.queryIds.count), 8)) "
                          + "\(Format.right(Format.count(batch.counts.succeeded), 8)) "
                          + "\(Format.right(Format.count(batch.counts.failed), 7))  "
                          + ISO8601DateFormatter().string(from: batch.createdAt))
                }
            }
        }

        struct Cancel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Ask the provider to cancel a batch.")

            @OptionGroup var settings: ConfigOptions
            @OptionGroup var store: StoreOptions
            @OptionGroup var classifier: ClassifierOptions
            @OptionGroup var format: OutputOptions

            @Argument(help: "The batch: the provider's id or Triage's (triage batches lists both).")
            var id: String

            func run() async throws {
                let config = try settings.reader(store, classifier)
                let opened = try await config.openStore()
                let batch = try await config.withClassifier(concurrency: 1, store: opened) { classifier, _ in
                    guard let batches = classifier.batches else {
                        throw CLIError("cancelling a batch needs its provider: --llm openai or --llm anthropic")
                    }
                    return try await ProviderBatchCancel.cancel(id, store: opened, batches: batches)
                }
                if format.json {
                    print(try Format.json(batch))
                } else {
                    print("Batch \(batch.providerBatchId ?? batch.id): \(batch.state.rawValue). The run polling it "
                          + "writes what finished and hands the rest back to pending.")
                }
            }
        }
    }
}
