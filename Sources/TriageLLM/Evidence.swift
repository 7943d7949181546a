import Foundation
import TriageCore

/// What the labelled examples and the categories' own names and descriptions say about one query, before any model
/// is asked: the examples most like it, how their similarity splits between labels, how close the nearest is, and
/// from that the categories worth offering the model (``candidates``) and whether the examples decide the answer
/// alone (``decisiveness``).
struct Evidence: Sendable {
    /// The retrieved examples, most similar first.
    var shots: [(example: LabelledExample, score: Double)]
    /// The categories whose names and descriptions share words with the query, most alike first; found only when
    /// something reads it (no examples were retrieved, or the taxonomy offers candidates).
    var likeness: [(example: LabelledExample, score: Double)]
    /// Each label's share of the shots' similarity, largest first.
    var votes: [(label: String, share: Double)]
    /// Each label's share of all the evidence, largest first: the examples' votes, and the categories' likeness to
    /// the query at half their weight (a category's name and description are fewer words than its examples).
    var support: [(label: String, share: Double)] = []
    /// How close the nearest example is to the query: its score over the query's score against itself (1 for the
    /// same words), at most 1.
    var closeness: Double
    /// The categories to offer the model, most supported first; `nil` for the whole taxonomy.
    var candidates: [Taxonomy.Label]?
    /// The query's words as ``ExampleIndex/words(_:)`` splits them, split once for everything that reads them.
    var words: [String]

    /// The label the evidence backs most, and its share of it.
    var leader: (label: String, share: Double)? { support.first ?? votes.first }

    /// How strongly the examples decide the answer alone: the leading label's share times closeness, in `0...1`.
    var decisiveness: Double { (leader?.share ?? 0) * closeness }

    /// The evidence the answer's confidence is weighed with: the examples, or without them the categories.
    var weighing: [(example: LabelledExample, score: Double)] { shots.isEmpty ? likeness : shots }
}

/// Finds the ``Evidence`` for queries: an example index (when there are labelled examples) and the categories as
/// documents. Built once per classifier, then only read.
struct EvidenceFinder: Sendable {
    let taxonomy: Taxonomy
    let examples: ExampleIndex?
    let categoryIndex: ExampleIndex
    let examplesPerQuery: Int
    /// How many categories to offer the model for a large taxonomy (`nil`: all of them, always).
    let candidateCount: Int?

    /// A taxonomy with more categories than this offers the model candidates, not the whole list.
    static let largeTaxonomy = 12
    /// The candidates offered a large taxonomy's query unless the configuration says otherwise.
    static let defaultCandidates = LLMConfiguration.defaultCandidates

    init(taxonomy: Taxonomy, examples: ExampleIndex?, examplesPerQuery: Int, candidates: Int?) {
        self.taxonomy = taxonomy
        self.examples = examples
        self.examplesPerQuery = examplesPerQuery
        categoryIndex = ExampleIndex(taxonomy.categories.map {
            LabelledExample(text: $0.name.replacingOccurrences(of: "_", with: " ") + " " + $0.description,
                            category: $0.name)
        })
        // 0 asks for every category; by default a large taxonomy offers a few.
        candidateCount = switch candidates {
        case 0?: nil
        case let count?: count
        case nil: taxonomy.categories.count > Self.largeTaxonomy ? Self.defaultCandidates : nil
        }
    }

    func evidence(for text: String, excluding excluded: Int? = nil) -> Evidence {
        let words = ExampleIndex.words(text)
        let shots = examples?.nearest(words: words, k: examplesPerQuery, excluding: excluded) ?? []
        let likeness = categoryIndex.nearest(words: words, k: taxonomy.categories.count)
        guard !shots.isEmpty else {
            var evidence = Evidence(shots: [], likeness: likeness, votes: [], closeness: 0, candidates: nil,
                                    words: words)
            if candidateCount != nil { evidence.candidates = candidates(for: evidence) }
            return evidence
        }
        var shares: [String: Double] = [:]
        let total = shots.map(\.score).reduce(0, +)
        if total > 0 { for shot in shots { shares[shot.example.category, default: 0] += shot.score / total } }
        // Ties go to the label of the nearer example.
        let order = Dictionary(shots.enumerated().map { ($1.example.category, $0) }, uniquingKeysWith: { first, _ in first })
        let votes = shares.map { (label: $0.key, share: $0.value) }
            .sorted { $0.share != $1.share ? $0.share > $1.share : order[$0.label, default: 0] < order[$1.label, default: 0] }
        let selfScore = examples?.selfScore(of: words) ?? 0
        let closeness = selfScore > 0 ? min(1, (shots.first?.score ?? 0) / selfScore) : 0
        var evidence = Evidence(shots: shots, likeness: likeness, votes: votes, closeness: closeness, candidates: nil,
                                words: words)
        evidence.support = support(votes: votes, likeness: likeness)
        evidence.candidates = candidates(for: evidence)
        return evidence
    }

    /// The examples' votes and, at half their weight, the categories' likeness (relative to the most alike), as
    /// shares of their sum, largest first; ties go to the examples' order, then the taxonomy's.
    private func support(votes: [(label: String, share: Double)],
                         likeness: [(example: LabelledExample, score: Double)]) -> [(label: String, share: Double)] {
        var support: [String: Double] = [:]
        for vote in votes { support[vote.label, default: 0] += vote.share }
        if let best = likeness.first?.score, best > 0 {
            for match in likeness { support[match.example.category, default: 0] += 0.5 * match.score / best }
        }
        let total = support.values.reduce(0, +)
        guard total > 0 else { return [] }
        let voted = Dictionary(votes.enumerated().map { ($1.label, $0) }, uniquingKeysWith: { first, _ in first })
        let position = Dictionary(taxonomy.categories.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        func rank(_ label: String) -> (Int, Int) { (voted[label] ?? Int.max, position[label] ?? Int.max) }
        return support.map { (label: $0.key, share: $0.value / total) }
            .sorted { $0.share != $1.share ? $0.share > $1.share : rank($0.label) < rank($1.label) }
    }

    /// The categories the evidence supports, most supported first: the retrieved examples' labels by their share of
    /// the similarity, and the categories whose names and descriptions are most like the query, then the rest in the
    /// taxonomy's order up to the count; `nil` (the whole
    /// taxonomy) for a small taxonomy, or when nothing in the query matches anything.
    private func candidates(for evidence: Evidence) -> [Taxonomy.Label]? {
        guard let count = candidateCount, count < taxonomy.categories.count else { return nil }
        let known = Set(taxonomy.categories.map(\.name))
        let support = evidence.support.isEmpty ? self.support(votes: [], likeness: evidence.likeness) : evidence.support
        let ranked = support.filter { known.contains($0.label) }.prefix(count).map(\.label)
        guard !ranked.isEmpty else { return nil }
        // The places the evidence leaves are the taxonomy's next categories in the operator's order: a model
        // offered fewer than it may be could not answer with a category the evidence missed.
        let supported = Set(ranked)
        let rest = taxonomy.categories.filter { !supported.contains($0.name) }.prefix(count - ranked.count)
        return ranked.compactMap { name in taxonomy.categories.first { $0.name == name } } + rest
    }

    /// The answer the examples give alone, when their decisiveness reaches `threshold` and they carry every field
    /// the model would be asked for: the leading label, and the priority and sentiment most of the examples agreeing
    /// on it carry. `nil` otherwise.
    func examplesAnswer(_ evidence: Evidence, threshold: Double) -> (category: String, priority: String,
                                                                      sentiment: String, share: Double)? {
        guard let leader = evidence.leader, evidence.decisiveness >= threshold, !taxonomy.asks(.summary) else {
            return nil
        }
        let agreeing = evidence.shots.filter { $0.example.category == leader.label }
        func majority(_ value: (LabelledExample) -> String?) -> String? {
            var weights: [String: Double] = [:]
            for shot in agreeing { if let label = value(shot.example) { weights[label, default: 0] += shot.score } }
            return weights.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
        }
        var priority = "", sentiment = ""
        if taxonomy.asks(.priority) {
            guard let found = majority(\.priority) else { return nil }
            priority = found
        }
        if taxonomy.asks(.sentiment) {
            guard let found = majority(\.sentiment) else { return nil }
            sentiment = found
        }
        return (leader.label, priority, sentiment, leader.share)
    }

    /// The decisiveness above which the examples answer alone, chosen by leave-one-out over the pool: each example
    /// is answered from the others, and the threshold is the lowest at which the examples' answers are at least
    /// `target` accurate with 95% confidence (the Wilson lower bound of their measured accuracy, so a threshold
    /// that reached the target on a lucky few is not taken; at least `minimumAnswered` of them). With `model`, the
    /// accuracy the model was measured at when it is lower, the examples also answer below that threshold, as far
    /// down as the answers added there (not all of them: the ones above were right more often) are at least
    /// `model` accurate with 95% confidence — they answer where they beat the model on queries as decisive. A pool
    /// of more than `sample` examples is sampled evenly.
    func chooseThreshold(target: Double, model: Double? = nil, sample: Int = 2_000,
                         minimumAnswered: Int = 20) -> ExamplesDecision {
        guard let examples, !examples.examples.isEmpty else {
            return ExamplesDecision(mode: "auto", threshold: nil, pool: 0, measured: 0, coverage: 0, accuracy: 0,
                                    note: "no labelled examples")
        }
        if taxonomy.asks(.summary) {
            return ExamplesDecision(mode: "auto", threshold: nil, pool: examples.examples.count, measured: 0,
                                    coverage: 0, accuracy: 0,
                                    note: "the taxonomy asks for a summary, which the examples do not carry")
        }
        let pool = examples.examples
        let step = max(1, pool.count / sample)
        let measured = stride(from: 0, to: pool.count, by: step).map { index -> (Double, Bool) in
            let evidence = self.evidence(for: pool[index].text, excluding: index)
            return (evidence.decisiveness, evidence.leader?.label == pool[index].category)
        }.sorted { $0.0 > $1.0 }
        /// The lowest threshold at which the answers from `start` on (most decisive first) reach `target`.
        func lowest(from start: Int, reaching target: Double) -> (threshold: Double, answered: Int, correct: Int)? {
            var correct = 0
            var best: (threshold: Double, answered: Int, correct: Int)?
            for index in start..<measured.count {
                let (score, right) = measured[index]
                guard score > 0 else { break }
                if right { correct += 1 }
                let answered = index - start + 1
                // Only where the next score is lower: a threshold takes all the answers at its score.
                let next = index + 1 < measured.count ? measured[index + 1].0 : -1
                guard next < score, answered >= minimumAnswered else { continue }
                if Self.lowerBound(correct: correct, of: answered) >= target { best = (score, answered, correct) }
            }
            return best
        }
        var best = lowest(from: 0, reaching: target)
        if let model, model < target {
            let start = best?.answered ?? 0
            if let further = lowest(from: start, reaching: model) {
                best = (further.threshold, start + further.answered, (best?.correct ?? 0) + further.correct)
            }
        }
        guard let best else {
            return ExamplesDecision(mode: "auto", threshold: nil, pool: pool.count, measured: measured.count,
                                    coverage: 0, accuracy: 0,
                                    note: "the examples never reach \(model.map { min($0, target) } ?? target) "
                                        + "accuracy alone on their own pool (95% lower bound)")
        }
        return ExamplesDecision(mode: "auto", threshold: (best.threshold * 1000).rounded(.down) / 1000,
                                pool: pool.count, measured: measured.count,
                                coverage: Double(best.answered) / Double(measured.count),
                                accuracy: Double(best.correct) / Double(best.answered), note: nil)
    }

    /// The Wilson score upper bound (one-sided 95%): what the accuracy is at most.
    static func upperBound(correct: Int, of answered: Int) -> Double {
        guard answered > 0 else { return 1 }
        return 1 - lowerBound(correct: answered - correct, of: answered)
    }

    /// The Wilson score lower bound (one-sided 95%) of an accuracy of `correct` right in `answered`: what the
    /// accuracy is at least, allowing for how few answers measured it.
    static func lowerBound(correct: Int, of answered: Int) -> Double {
        guard answered > 0 else { return 0 }
        let z = 1.645, n = Double(answered), p = Double(correct) / n
        let centre = p + z * z / (2 * n)
        let spread = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        return (centre - spread) / (1 + z * z / n)
    }
}
