import ArgumentParser
import Foundation
import TriageCore

extension Triage {
    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a query's labels: kept beside the model's answer, never overwritten by a later run.",
            discussion: """
                The query is named by its id or its externalId. The correction records who made it and when; \
                export writes it beside the model's answer (correctedCategory, correctedBy, …), the query stops \
                being listed for review, --examples store learns from it, and triage eval scores against it. A \
                query with no answer yet (pending or failed) becomes classified: no run takes it again.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var format: OutputOptions

        @Argument(help: ArgumentHelp("The query's id or externalId.", valueName: "id"))
        var query: String

        @Option(help: ArgumentHelp("The right category.", valueName: "name"))
        var category: String

        @Option(help: ArgumentHelp("The right priority.", valueName: "name"))
        var priority: String?

        @Option(help: ArgumentHelp("The right sentiment.", valueName: "name"))
        var sentiment: String?

        @Option(help: ArgumentHelp("Why, for whoever reads the correction later.", valueName: "text"))
        var note: String?

        @Option(help: ArgumentHelp("Who is correcting (default: $USER).", valueName: "name"))
        var by: String?

        @Option(help: ArgumentHelp(
            "The taxonomy the labels must belong to (default: the built-in one). (env: TRIAGE_TAXONOMY)",
            valueName: "file"
        ))
        var taxonomy: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let config = try settings.reader(store, TaxonomyFlag(path: self.taxonomy))
            let taxonomy = try config.taxonomy()
            let correction: Correction
            do {
                correction = try Correction(
                    category: category, priority: priority, sentiment: sentiment, note: note,
                    by: by ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "cli"
                ).validated(against: taxonomy)
            } catch {
                throw ValidationError(error.description)
            }
            let store = try await config.openStore()
            guard let id = try await Self.resolve(query, in: store),
                  let record = try await store.correct(id, with: correction) else {
                throw CLIError("no query with id or externalId '\(query)' in \(try config.storeConfiguration().displayURI)")
            }
            if format.json {
                print(try Format.json(record))
                return
            }
            let model = record.classification.map {
                "the model said \($0.category) (confidence \(String(format: "%.2f", $0.confidence)))"
            } ?? "no model answer yet"
            print("Query \(record.id): \(model); corrected to \(Self.labels(correction)) by \(correction.by).")
        }

        /// The id of the query named by `name`: a stored id first, then an externalId.
        static func resolve(_ name: String, in store: any QueryStore) async throws -> QueryID? {
            if let record = try await store.find(QueryID(name)) { return record.id }
            return try await store.list(QueryFilter(externalId: name), after: nil, limit: 1).first?.id
        }

        static func labels(_ correction: Correction) -> String {
            [correction.category, correction.priority, correction.sentiment].compactMap { $0 }.joined(separator: "/")
        }
    }
}
