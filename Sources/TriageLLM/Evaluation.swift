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
    }

    /// Classifies every query (at most `concurrency` at once) and scores the answers.
    public static func run(_ queries: [LabelledExample], classifier: any Classifier,
                           concurrency: Int) async -> Report {
        let started = ContinuousClock.now
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
        return score(queries, answers: answers, seconds: seconds)
    }

    /// Scores answers against the labels they should have had; a `nil` answer (the query could not be classified)
    /// counts wrong. `triage eval` without `--holdout` scores the store's own answers this way, calling no LLM.
    /// - Parameter seconds: The time the answers took, for queries per second; 0 when not measured.
    public static func score(_ queries: [LabelledExample], answers: [Classification?], seconds: Double) -> Report {
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
        return Report(
            category: scores(\.categoryLabel, \.category) ?? LabelScores([]),
            priority: scores(\.priority, \.priority),
            sentiment: scores(\.sentiment, \.sentiment),
            failed: answers.count - answered.count,
            promptTokensPerQuery: answered.isEmpty ? 0
                : Double(answered.map(\.promptTokens).reduce(0, +)) / Double(answered.count),
            queriesPerSecond: seconds > 0 ? Double(queries.count) / seconds : 0
        )
    }
}

extension LabelledExample {
    /// The category as an optional, to score it like the optional labels.
    var categoryLabel: String? { category }
}
