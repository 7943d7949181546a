import ArgumentParser
import Foundation
import Synchronization
import TriageCore
import TriageIngest

extension Triage {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add queries to the store from a file, or generate sample queries.",
            discussion: """
                Files may be a JSON array of objects, JSON Lines (one object per line) or CSV with a header row; \
                each record needs a non-empty 'text' and may have subject, channel, customerId, externalId, \
                createdAt (ISO 8601 or Unix seconds) and metadata. Other scalar fields are kept as metadata. \
                Expected labels (expected: {category, priority, sentiment}, or expectedCategory, \
                expected_category…) are stored with the query, never sent to the LLM, and scored by triage eval \
                and by each run's statistics; with --taxonomy (or TRIAGE_TAXONOMY) they must be among its names.

                Importing is all or nothing: the first problem found is reported with its file, line or record, \
                and field, and nothing is added. JSON Lines files stream: memory stays flat whatever their size \
                (a million lines in about 12 s on a small machine). On MongoDB the file is read through once to \
                check it, then again to write it. Records are idempotent on externalId (one derived from the \
                content when absent), so importing the same file twice adds nothing twice.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var format: OutputOptions

        @Option(help: ArgumentHelp("A JSON, JSONL or CSV file of queries.", valueName: "file"))
        var file: String?

        @Option(help: ArgumentHelp("The file's format, when its extension does not say.", valueName: "json|jsonl|csv"))
        var fileFormat: QueryFileFormat?

        @Option(help: ArgumentHelp("Generate this many realistic sample queries instead of reading a file.",
                                   valueName: "n"))
        var count: Int?

        @Option(help: ArgumentHelp(
            "Check expected labels against this taxonomy file. (env: TRIAGE_TAXONOMY)", valueName: "file"))
        var taxonomy: String?

        @Option(help: "Seed for generated samples: the same seed gives the same queries.")
        var seed: UInt64 = 1

        @Option(help: ArgumentHelp("With --count, also write the generated queries to this JSON file.", valueName: "file"))
        var output: String?

        func validate() throws {
            switch (file, count) {
            case (nil, nil): throw ValidationError("pass --file FILE to import a file, or --count N to generate samples")
            case (.some, .some): throw ValidationError("pass either --file or --count, not both")
            default: break
            }
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            if output != nil && count == nil { throw ValidationError("--output goes with --count") }
        }

        func run() async throws {
            let config = try settings.reader(store, TaxonomyFlag(path: taxonomy))
            let source: QueryChunks
            if let file {
                let taxonomy = try config.taxonomyIfNamed()
                source = QueryFileReader.chunks(path: file, format: fileFormat, taxonomy: taxonomy)
            } else if let output {
                let queries = SampleQueries.generate(count: count ?? 0, seed: seed)
                try ExportWriter.writeQueries(queries, to: URL(fileURLWithPath: output))
                source = { deliver in try deliver(queries) }
            } else {
                let (count, seed) = (count ?? 0, seed)
                source = { deliver in
                    var generator = SampleQueries.Generator(seed: seed)
                    var left = count
                    while left > 0 {
                        let size = min(left, 5_000)
                        try deliver((0..<size).map { _ in generator.next() })
                        left -= size
                    }
                }
            }
            // Counted as the records stream by; a store that reads them twice (to check, then to write) counts anew.
            // Expected categories the taxonomy runs would use does not name (checked, and refused, only when a
            // taxonomy is named): said, so that "accuracy 0.000" later is no surprise.
            let categories = Set(try config.taxonomy().categoryNames)
            let labelled = Mutex((count: 0, unknown: [String: Int]()))
            let counted: QueryChunks = { deliver in
                labelled.withLock { $0 = (0, [:]) }
                try source { chunk in
                    labelled.withLock { counts in
                        for category in chunk.lazy.compactMap({ $0.expected?.category }) {
                            counts.count += 1
                            if !categories.contains(category) { counts.unknown[category, default: 0] += 1 }
                        }
                    }
                    try deliver(chunk)
                }
            }
            let store = try await config.openStore()
            let result = try await store.insert(chunks: counted)
            let (labelledCount, unknown) = labelled.withLock { $0 }
            if !unknown.isEmpty {
                let names = unknown.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
                FileHandle.standardError.write(Data((LabelReport.mismatch(
                    unknown: unknown.values.reduce(0, +), of: labelledCount, names: names) + "\n").utf8))
            }
            if format.json {
                print(try Format.json(result))
            } else {
                var line = "Imported \(Format.count(result.inserted)) queries into \(try config.storeConfiguration().displayURI)"
                if result.duplicates > 0 { line += " (\(Format.count(result.duplicates)) already present, skipped)" }
                print(line + ".")
                if labelledCount > 0 {
                    print("\(Format.count(labelledCount)) of the file's queries carry an expected category: "
                          + "triage eval scores the store's answers against them.")
                }
                if let output { print("The generated queries are also in \(output).") }
            }
        }
    }
}

extension QueryFileFormat: ExpressibleByArgument {}
