import ArgumentParser
import Foundation
import TriageCore
import TriageIngest

extension Triage {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write stored queries with their status and classification to a file.",
            discussion: """
                Each record carries id, externalId, text, subject, channel, customerId, createdAt, status, \
                attempts, lastErrorKind, lastError and the classification fields (category, priority, sentiment, \
                language, confidence, summary, model, taxonomyVersion, tokens, latencyMs, classifiedAt, needsReview) \
                at the top level, then the expected labels (expectedCategory…) and a person's correction \
                (correctedCategory, correctedPriority, correctedSentiment, correctionNote, correctedBy, \
                correctedAt) beside the model's answer. Records stream in id order, so exports of any size use little memory.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions

        @Option(help: ArgumentHelp("Only queries with this status.", valueName: "pending|processing|classified|failed"))
        var status: QueryStatus?

        @Option(help: ArgumentHelp("Only queries of this category.", valueName: "name"))
        var category: String?

        @Flag(help: "Only queries flagged for review (--review-below) that no person has corrected yet.")
        var needsReview = false

        @Option(help: ArgumentHelp("Output format; by default from the output file's extension, else json.",
                                   valueName: "json|jsonl|csv"))
        var format: QueryFileFormat?

        @Option(help: ArgumentHelp("The file to write; - for standard output.", valueName: "file"))
        var output = "-"

        func run() async throws {
            let store = try await settings.reader(self.store).openStore()
            let format = self.format ?? Self.format(forPath: output)
            var count = 0
            try await AtomicFile.write(to: output) { handle in
                var writer = ExportWriter(format: format, output: handle)
                try writer.begin()
                for try await record in store.export(QueryFilter(status: status, category: category, needsReview: needsReview)) {
                    try writer.write(record)
                }
                count = try writer.end()
            }
            if output != "-" {
                FileHandle.standardError.write(Data("Exported \(Format.count(count)) queries to \(output).\n".utf8))
            }
        }

        /// The format the output's extension names; JSON for standard output and any other name.
        static func format(forPath path: String) -> QueryFileFormat {
            QueryFileFormat(extensionOf: path) ?? .json
        }
    }
}

extension QueryStatus: ExpressibleByArgument {}
