import ArgumentParser
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
import TriageProcessor

extension Triage {
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure how right the labels are: score answers against the labels they should have.",
            discussion: """
                Prints accuracy, macro-F1, each category's precision and recall, the most common confusions, \
                calibration (expected calibration error, accuracy by confidence) and what a review threshold would \
                auto-accept. Nothing is stored.

                Without --file, the store is scored: every classified query with an expected category (imported \
                with it) or a person's correction, its stored answer against that label. No LLM is called.

                With --file (JSONL, JSON or CSV with text and category, optionally priority and sentiment), the \
                queries are classified now and scored. --holdout 0.2 scores a fifth of them (shuffled with --seed) \
                with the rest as the examples pool, so no query is scored with its own label among the examples; \
                without it the pool is --examples (or none). --holdout without --file does the same with the \
                store's labelled queries.

                Examples:
                  triage eval
                  triage eval --file labelled.jsonl --holdout 0.2 --llm openai --llm-url http://127.0.0.1:8080/v1
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions

        @Option(help: ArgumentHelp("Labelled queries to classify now and score, instead of the store's answers.",
                                   valueName: "file"))
        var file: String?

        @Option(help: ArgumentHelp("Classify and score this share of the labelled queries; the rest are the examples.",
                                   valueName: "fraction"))
        var holdout: Double?

        @Option(help: "Shuffles the file before --holdout splits it.")
        var seed: UInt64 = 1

        @Option(help: ArgumentHelp("Score at most this many queries.", valueName: "n"))
        var limit: Int?

        @Option(help: ArgumentHelp("Classifications in flight at once.", valueName: "n"))
        var maxConcurrent = 4

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            if let holdout, !(holdout > 0 && holdout < 1) {
                throw ValidationError("--holdout must be between 0 and 1, such as 0.2")
            }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            let most = BatchProcessor.Configuration.maximumConcurrency
            guard (1...most).contains(maxConcurrent) else {
                throw ValidationError("--max-concurrent must be from 1 to \(most)")
            }
        }

        func run() async throws {
            let config = try settings.reader(store, classifier)
            let shown = try config.storeConfiguration().displayURI
            let labelled: [LabelledExample]
            if let file {
                labelled = try ExampleFileReader.read(path: file, taxonomy: try config.taxonomy())
            } else if holdout != nil {
                labelled = try await config.openStore().labelledExamples()
                guard !labelled.isEmpty else { throw Self.nothingLabelled(in: shown) }
            } else {
                try await scoreStore(try await config.openStore(), shown: shown, taxonomy: try config.taxonomy())
                return
            }
            var pool: [LabelledExample]?
            var scored = labelled
            if let holdout {
                let split = Evaluation.split(labelled, holdout: holdout, seed: seed)
                pool = split.examples
                scored = split.scored
            }
            if let limit { scored = Array(scored.prefix(limit)) }
            let report = try await config.withClassifier(concurrency: maxConcurrent, examples: pool) { classifier, _ in
                await Evaluation.run(scored, classifier: classifier, concurrency: maxConcurrent)
            }
            if json {
                print(try Format.json(report))
            } else {
                print(EvalReport.render(report, pool: pool?.count))
            }
        }

        /// Scores the answers in the store against the labels its queries should have.
        private func scoreStore(_ store: any QueryStore, shown: String, taxonomy: Taxonomy) async throws {
            var queries: [LabelledExample] = []
            var answers: [Classification?] = []
            var unanswered = 0
            for try await record in store.export(QueryFilter(labelled: true)) {
                guard let known = record.knownLabels else { continue }
                guard let answer = record.classification else {
                    unanswered += 1
                    continue
                }
                queries.append(known)
                answers.append(answer)
                if let limit, queries.count >= limit { break }
            }
            guard !queries.isEmpty else {
                throw unanswered > 0
                    ? CLIError("none of the \(Format.count(unanswered)) labelled queries in \(shown) "
                               + "has been classified yet: run triage run first")
                    : Self.nothingLabelled(in: shown)
            }
            let report = Evaluation.score(queries, answers: answers, seconds: 0, taxonomy: taxonomy)
            if json {
                print(try Format.json(report))
            } else {
                var text = EvalReport.render(report, pool: nil, stored: true)
                if unanswered > 0 {
                    text += "\n\(Format.count(unanswered)) labelled queries have no answer yet and were not scored."
                }
                print(text)
            }
        }

        static func nothingLabelled(in store: String) -> CLIError {
            CLIError("no query in \(store) has an expected category or a correction: import queries with "
                     + "expected labels (expected: {category: …}), correct some with triage label, or pass --file")
        }
    }
}

/// `triage eval`'s report as a person reads it.
enum EvalReport {
    /// - Parameter stored: The answers are the store's, scored against expected labels and corrections.
    static func render(_ report: Evaluation.Report, pool: Int?, stored: Bool = false) -> String {
        let c = report.category
        func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
        func decimal(_ value: Double) -> String { String(format: "%.3f", value) }
        var lines = [
            "Scored \(Format.count(c.count)) " + (stored ? "stored answers against their expected labels or corrections"
                                                     : "answers") + (pool.map { " with \(Format.count($0)) examples to draw on" } ?? "")
                + (report.failed > 0 ? "; \(report.failed) could not be classified (counted wrong)" : "") + ".",
            "",
            "category   accuracy \(percent(c.accuracy))   macro-F1 \(decimal(c.macroF1))   "
                + "calibration error (ECE) \(decimal(c.expectedCalibrationError))",
        ]
        if let unknown = report.unknownLabels {
            lines += ["", LabelReport.mismatch(unknown: unknown.queries, of: c.count, names: unknown.names)]
        }
        for (name, scores) in [("priority", report.priority), ("sentiment", report.sentiment)] {
            guard let scores else { continue }
            lines.append("\(Format.pad(name, 10)) accuracy \(percent(scores.accuracy))   macro-F1 \(decimal(scores.macroF1))")
        }
        lines += ["", "  \(Format.pad("category", 22)) \(Format.right("precision", 9)) \(Format.right("recall", 7)) "
                  + "\(Format.right("F1", 6)) \(Format.right("support", 8))"]
        for label in c.perLabel {
            lines.append("  \(Format.pad(Format.cut(label.label, 22), 22)) \(Format.right(decimal(label.precision), 9)) "
                         + "\(Format.right(decimal(label.recall), 7)) \(Format.right(decimal(label.f1), 6)) "
                         + "\(Format.right(String(label.support), 8))")
        }
        if !c.confusions.isEmpty {
            lines += ["", "Most common confusions (expected → answered):"]
            for confusion in c.confusions.prefix(5) {
                lines.append("  \(confusion.expected) → \(confusion.predicted): \(confusion.count)")
            }
        }
        lines += ["", "Review threshold (auto-accept confidence ≥ t):"]
        // Thresholds that tie give the same point; it is shown once.
        for (index, point) in c.coverage.enumerated() where index == 0 || c.coverage[index - 1] != point {
            lines.append("  t = \(decimal(point.threshold)): accepts \(percent(point.coverage)), "
                         + "\(percent(point.accuracy)) of them right")
        }
        if !report.answersBySource.isEmpty {
            lines += ["", "Answered by: " + RunReport.sources(report.answersBySource)
                      + (report.llmRequests.map { "; \(Format.count($0)) LLM requests" } ?? "")
                      + (report.repairs.map { $0 > 0 ? ", \(Format.count($0)) answers needed a repair" : "" } ?? "")]
        }
        if let decision = report.examplesDecision {
            lines.append("Examples answer alone: " + LabelReport.decision(decision))
        }
        if report.queriesPerSecond > 0 {
            lines += ["", String(format: "%.0f prompt tokens per query, %.2f queries/s", report.promptTokensPerQuery,
                                 report.queriesPerSecond)]
        }
        return lines.joined(separator: "\n")
    }
}
