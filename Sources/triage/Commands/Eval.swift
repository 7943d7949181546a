import ArgumentParser
import Foundation
import TriageCore
import TriageIngest
import TriageLLM
import TriageProcessor

extension Triage {
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure how right the labels are: classify labelled queries and score the answers.",
            discussion: """
                Reads labelled queries (JSONL, JSON or CSV with text and category, optionally priority and \
                sentiment), classifies them and prints accuracy, macro-F1, each category's precision and recall, \
                the most common confusions, calibration (expected calibration error, accuracy by confidence) and \
                what a review threshold would auto-accept. Nothing is stored.

                --holdout 0.2 scores a fifth of the file (shuffled with --seed) with the rest as the examples pool, \
                so no query is scored with its own label among the examples. Without it, every query is scored and \
                the pool is --examples (or none).

                Example: triage eval --file labelled.jsonl --holdout 0.2 --llm openai --llm-url http://127.0.0.1:8080/v1
                """
        )

        @OptionGroup var classifier: ClassifierOptions

        @Option(help: ArgumentHelp("The labelled queries.", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Score this share of the file; the rest are the examples.", valueName: "fraction"))
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
            let taxonomy = try classifier.loadTaxonomy()
            let labelled = try ExampleFileReader.read(path: file, taxonomy: taxonomy)
            var pool: [LabelledExample]?
            var scored = labelled
            if let holdout {
                let split = Evaluation.split(labelled, holdout: holdout, seed: seed)
                pool = split.examples
                scored = split.scored
            }
            if let limit { scored = Array(scored.prefix(limit)) }
            let report = try await classifier.withClassifier(concurrency: maxConcurrent, examples: pool) { classifier, _ in
                await Evaluation.run(scored, classifier: classifier, concurrency: maxConcurrent)
            }
            if json {
                print(try Format.json(report))
            } else {
                print(EvalReport.render(report, pool: pool?.count))
            }
        }
    }
}

/// `triage eval`'s report as a person reads it.
enum EvalReport {
    static func render(_ report: Evaluation.Report, pool: Int?) -> String {
        let c = report.category
        func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
        func decimal(_ value: Double) -> String { String(format: "%.3f", value) }
        var lines = [
            "Scored \(Format.count(c.count)) queries" + (pool.map { " with \(Format.count($0)) examples to draw on" } ?? "")
                + (report.failed > 0 ? "; \(report.failed) could not be classified (counted wrong)" : "") + ".",
            "",
            "category   accuracy \(percent(c.accuracy))   macro-F1 \(decimal(c.macroF1))   "
                + "calibration error (ECE) \(decimal(c.expectedCalibrationError))",
        ]
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
        for point in c.coverage {
            lines.append("  t = \(decimal(point.threshold)): accepts \(percent(point.coverage)), "
                         + "\(percent(point.accuracy)) of them right")
        }
        lines += ["", String(format: "%.0f prompt tokens per query, %.2f queries/s", report.promptTokensPerQuery,
                             report.queriesPerSecond)]
        return lines.joined(separator: "\n")
    }
}
