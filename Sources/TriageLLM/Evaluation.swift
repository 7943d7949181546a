import Foundation
import TriageCore

/// Classifies labelled queries and scores the answers against their labels: what `triage eval` and the quality
/// bench run. Nothing is stored.
public enum Evaluation {
    /// A labelled set split in two, so that no query is scored with its own label among the examples.
    public struct Split: Sendable {
        /// The pool the classifier retrieves examples from.
        public var examples: [LabelledExample]
        /// The queries to classify and score.
        public var scored: [LabelledExample]
    }

    /// Shuffles `labelled` with `seed` and holds back `fraction` of it (at least one) to score; the rest is the pool.
    public static func split(_ labelled: [LabelledExample], holdout fraction: Double, seed: UInt64) -> Split {
        var generator = SeededGenerator(seed: seed)
        let shuffled = labelled.shuffled(using: &generator)
        let held = min(shuffled.count, max(1, Int((fraction * Double(shuffled.count)).rounded())))
        return Split(examples: Array(shuffled.dropFirst(held)), scored: Array(shuffled.prefix(held)))
    }

    /// What one evaluation found.
    public struct Report: Sendable, Codable {
        public var category: LabelScores
        /// Over the queries whose priority, or sentiment, was labelled; absent when none was.
        public var priority: LabelScores?
        public var sentiment: LabelScores?
        /// Queries the classifier could not answer (they count as wrong in every score).
        public var failed: Int
        public var promptTokensPerQuery: Double
        public var queriesPerSecond: Double
        /// Answers by who gave them (`model`, `examples`, `reused`), each with its category accuracy.
        public var answersBySource: [String: RunStatistics.AnswerSource] = [:]
        /// The model's answers received (repair requests included) and, of the queries it answered, how many took a
        /// repair request; `nil` when not known (stored answers).
        public var llmRequests: Int?
        public var repairs: Int?
        /// When the examples answered alone, as the classifier chose it at its start.
        public var examplesDecision: ExamplesDecision?
        /// Expected categories that are no name of the taxonomy in use: they can never match.
        public var unknownLabels: UnknownLabels?
    }

    /// Expected labels that no answer can match.
    public struct UnknownLabels: Sendable, Codable, Hashable {
        /// Scored queries whose expected category the taxonomy does not have.
        public var queries: Int
        /// Those categories, most frequent first (at most ten).
        public var names: [String]
    }

    /// The expected categories in `expected` that `taxonomy` does not name; `nil` when all are its own.
    public static func unknownLabels(_ expected: some Sequence<String>, taxonomy: Taxonomy) -> UnknownLabels? {
        let known = Set(taxonomy.categoryNames)
        var counts: [String: Int] = [:]
        for label in expected where !known.contains(label) { counts[label, default: 0] += 1 }
        guard !counts.isEmpty else { return nil }
        let names = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10).map(\.key)
        return UnknownLabels(queries: counts.values.reduce(0, +), names: Array(names))
    }

    /// Classifies every query (at most `concurrency` at once) and scores the answers.
    public static func run(_ queries: [LabelledExample], classifier: any Classifier,
                           concurrency: Int) async -> Report {
        let started = ContinuousClock.now
        let measurement = await classifier.calibrate(forQueries: queries.count)
        let answers = await withTaskGroup(of: (Int, Classification?).self) { group in
            var answers = [Classification?](repeating: nil, count: queries.count)
            var next = 0
            var inFlight = 0
            while next < queries.count || inFlight > 0 {
                // Keep `concurrency` classifications in flight; collect one when the slots are full or none is left.
                if next < queries.count && inFlight < max(1, concurrency) {
                    let index = next
                    next += 1
                    inFlight += 1
                    group.addTask {
                        let request = ClassificationRequest(id: QueryID("eval-\(index)"),
                                                            query: SupportQuery(text: queries[index].text), attempt: 1)
                        return (index, try? await classifier.classify(request))
                    }
                    continue
                }
                guard let (index, answer) = await group.next() else { break }
                inFlight -= 1
                answers[index] = answer
            }
            return answers
        }
        let seconds = (ContinuousClock.now - started).timeInterval
        var report = score(queries, answers: answers, seconds: seconds, taxonomy: classifier.taxonomy)
        let asked = answers.compactMap { $0 }.filter { $0.answeredBy != .examples && $0.reusedFrom == nil }
        // Measuring the model on the pool is paid for by the run that measured it.
        report.llmRequests = asked.map { $0.requests ?? 1 }.reduce(0, +) + (measurement?.requests ?? 0)
        if let measurement, !answers.isEmpty {
            report.promptTokensPerQuery += Double(measurement.promptTokens) / Double(max(1, answers.compactMap { $0 }.count))
        }
        report.repairs = asked.filter { ($0.requests ?? 1) > 1 }.count
        report.examplesDecision = classifier.examplesDecision
        return report
    }

    /// Scores answers against the labels they should have had; a `nil` answer (the query could not be classified)
    /// counts wrong. `triage eval` without `--holdout` scores the store's own answers this way, calling no LLM.
    /// - Parameter seconds: The time the answers took, for queries per second; 0 when not measured.
    /// - Parameter taxonomy: The taxonomy answers were given in, to say which expected labels it cannot match.
    public static func score(_ queries: [LabelledExample], answers: [Classification?], seconds: Double,
                             taxonomy: Taxonomy? = nil) -> Report {
        func scores(_ label: KeyPath<LabelledExample, String?>, _ field: KeyPath<Classification, String>)
            -> LabelScores? {
            let scored = zip(queries, answers).compactMap { query, answer -> LabelScores.Scored? in
                guard let expected = query[keyPath: label] else { return nil }
                return LabelScores.Scored(expected: expected, predicted: answer?[keyPath: field] ?? "(failed)",
                                          confidence: answer?.confidence ?? 0)
            }
            return scored.isEmpty ? nil : LabelScores(scored)
        }
        let answered = answers.compactMap { $0 }
        var bySource: [String: RunStatistics.AnswerSource] = [:]
        for (query, answer) in zip(queries, answers) {
            guard let answer else { continue }
            let source = answer.reusedFrom != nil ? "reused" : (answer.answeredBy ?? .model).rawValue
            bySource[source, default: .init()].count += 1
            bySource[source, default: .init()].scored += 1
            if answer.category == query.category { bySource[source, default: .init()].correct += 1 }
        }
        var report = Report(
            category: scores(\.categoryLabel, \.category) ?? LabelScores([]),
            priority: scores(\.priority, \.priority),
            sentiment: scores(\.sentiment, \.sentiment),
            failed: answers.count - answered.count,
            promptTokensPerQuery: answered.isEmpty ? 0
                : Double(answered.map(\.promptTokens).reduce(0, +)) / Double(answered.count),
            queriesPerSecond: seconds > 0 ? Double(queries.count) / seconds : 0
        )
        report.answersBySource = bySource
        report.unknownLabels = taxonomy.flatMap { unknownLabels(queries.map(\.category), taxonomy: $0) }
        return report
    }
}

extension LabelledExample {
    /// The category as an optional, to score it like the optional labels.
    var categoryLabel: String? { category }
}
