import Foundation

/// How well predicted labels match expected ones: accuracy, macro-F1, each label's precision and recall, the most
/// common confusions, calibration (how well confidence predicts being right) and what a review threshold would
/// auto-accept. Pure arithmetic over (expected, predicted, confidence) triples; `triage eval` and the quality bench
/// print it.
public struct LabelScores: Sendable, Hashable, Codable {
    public struct Scored: Sendable, Hashable {
        public var expected: String
        public var predicted: String
        /// 0 to 1.
        public var confidence: Double

        public init(expected: String, predicted: String, confidence: Double) {
            self.expected = expected
            self.predicted = predicted
            self.confidence = confidence
        }

        var correct: Bool { expected == predicted }
    }

    public struct PerLabel: Sendable, Hashable, Codable {
        public var label: String
        /// Of the queries given this label, the share that had it; 0 when none was given it.
        public var precision: Double
        /// Of the queries that had this label, the share given it.
        public var recall: Double
        public var f1: Double
        /// Queries that had this label.
        public var support: Int
    }

    public struct Confusion: Sendable, Hashable, Codable {
        public var expected: String
        public var predicted: String
        public var count: Int
    }

    /// Queries whose confidence fell in `lower..<upper` (the last bin includes 1).
    public struct Bin: Sendable, Hashable, Codable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        public var accuracy: Double
        public var meanConfidence: Double
    }

    /// Accepting every query with confidence at least `threshold` without review.
    public struct Coverage: Sendable, Hashable, Codable {
        public var threshold: Double
        /// The share of queries accepted.
        public var coverage: Double
        /// How many of those are right.
        public var accuracy: Double
    }

    public var count: Int
    public var accuracy: Double
    /// The mean of each label's F1, over labels that were expected or predicted at least once.
    public var macroF1: Double
    public var perLabel: [PerLabel]
    /// The most frequent wrong answers, most frequent first.
    public var confusions: [Confusion]
    /// Expected calibration error over ten equal-width confidence bins: Σ (bin size / n) × |accuracy − mean confidence|.
    public var expectedCalibrationError: Double
    public var bins: [Bin]
    /// At thresholds that auto-accept 50%, 80%, 90% and 100% of the queries.
    public var coverage: [Coverage]

    public init(_ scored: [Scored], confusionsShown: Int = 10) {
        count = scored.count
        let n = Double(max(1, scored.count))
        accuracy = Double(scored.filter(\.correct).count) / n
        let labels = Set(scored.map(\.expected)).union(scored.map(\.predicted)).sorted()
        perLabel = labels.map { label in
            let truePositives = Double(scored.filter { $0.expected == label && $0.predicted == label }.count)
            let predicted = Double(scored.filter { $0.predicted == label }.count)
            let support = scored.filter { $0.expected == label }.count
            let precision = predicted > 0 ? truePositives / predicted : 0
            let recall = support > 0 ? truePositives / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return PerLabel(label: label, precision: precision, recall: recall, f1: f1, support: support)
        }
        macroF1 = perLabel.isEmpty ? 0 : perLabel.map(\.f1).reduce(0, +) / Double(perLabel.count)
        var wrong: [[String]: Int] = [:]
        for item in scored where !item.correct { wrong[[item.expected, item.predicted], default: 0] += 1 }
        confusions = wrong.map { Confusion(expected: $0.key[0], predicted: $0.key[1], count: $0.value) }
            .sorted { ($0.count, $1.expected, $1.predicted) > ($1.count, $0.expected, $0.predicted) }
            .prefix(confusionsShown).map { $0 }
        bins = (0..<10).map { index in
            let lower = Double(index) / 10
            let upper = Double(index + 1) / 10
            let members = scored.filter {
                let confidence = min(max($0.confidence, 0), 1)
                return confidence >= lower && (index == 9 ? confidence <= upper : confidence < upper)
            }
            let size = Double(max(1, members.count))
            return Bin(lower: lower, upper: upper, count: members.count,
                       accuracy: Double(members.filter(\.correct).count) / size,
                       meanConfidence: members.map(\.confidence).reduce(0, +) / size)
        }
        expectedCalibrationError = bins.reduce(0) { total, bin in
            total + Double(bin.count) / n * abs(bin.accuracy - bin.meanConfidence)
        }
        let ranked = scored.sorted { $0.confidence > $1.confidence }
        coverage = [0.5, 0.8, 0.9, 1.0].compactMap { share in Self.coverage(ranked, share: share) }
    }

    /// The threshold that accepts at least `share` of the queries (those most confident), and how accurate they are.
    /// Queries tied at the threshold are all accepted, so the coverage may exceed `share`.
    public static func coverage(_ ranked: [Scored], share: Double) -> Coverage? {
        guard !ranked.isEmpty else { return nil }
        let taken = min(ranked.count, max(1, Int((share * Double(ranked.count)).rounded(.up))))
        let threshold = ranked[taken - 1].confidence
        let accepted = ranked.filter { $0.confidence >= threshold }
        return Coverage(threshold: threshold, coverage: Double(accepted.count) / Double(ranked.count),
                        accuracy: Double(accepted.filter(\.correct).count) / Double(accepted.count))
    }
}
