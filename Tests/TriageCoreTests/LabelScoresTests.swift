import Testing
import TriageCore

@Suite("LabelScores")
struct LabelScoresTests {
    typealias Scored = LabelScores.Scored

    /// Ten answers over three labels. The confusion matrix (rows expected, columns predicted):
    ///
    ///              billing  refund  order
    ///     billing     3       1       0        support 4
    ///     refund      1       2       0        support 3
    ///     order       0       1       2        support 3
    ///
    /// billing: P 3/4, R 3/4, F1 0.75. refund: P 2/4, R 2/3, F1 4/7. order: P 2/2, R 2/3, F1 0.8.
    static let scored: [Scored] = [
        Scored(expected: "billing", predicted: "billing", confidence: 0.95),
        Scored(expected: "billing", predicted: "billing", confidence: 0.9),
        Scored(expected: "billing", predicted: "billing", confidence: 0.85),
        Scored(expected: "billing", predicted: "refund", confidence: 0.55),
        Scored(expected: "refund", predicted: "refund", confidence: 0.8),
        Scored(expected: "refund", predicted: "refund", confidence: 0.75),
        Scored(expected: "refund", predicted: "billing", confidence: 0.45),
        Scored(expected: "order", predicted: "order", confidence: 0.92),
        Scored(expected: "order", predicted: "order", confidence: 0.65),
        Scored(expected: "order", predicted: "refund", confidence: 0.3),
    ]

    @Test("accuracy, per-label precision and recall, and macro-F1 match the hand-computed confusion matrix")
    func confusionMatrix() throws {
        let scores = LabelScores(Self.scored)
        #expect(scores.count == 10)
        #expect(scores.accuracy == 0.7)
        let byLabel = Dictionary(uniqueKeysWithValues: scores.perLabel.map { ($0.label, $0) })
        let billing = try #require(byLabel["billing"])
        #expect(billing.precision == 0.75 && billing.recall == 0.75 && billing.f1 == 0.75 && billing.support == 4)
        let refund = try #require(byLabel["refund"])
        #expect(refund.precision == 0.5 && abs(refund.recall - 2.0 / 3) < 1e-12 && abs(refund.f1 - 4.0 / 7) < 1e-12)
        let order = try #require(byLabel["order"])
        #expect(order.precision == 1 && abs(order.f1 - 0.8) < 1e-12 && order.support == 3)
        #expect(abs(scores.macroF1 - (0.75 + 4.0 / 7 + 0.8) / 3) < 1e-12)
        #expect(scores.confusions.map(\.count).reduce(0, +) == 3)
        #expect(scores.confusions.map { "\($0.expected)→\($0.predicted)" } == ["billing→refund", "order→refund", "refund→billing"])
    }

    @Test("calibration: ten bins, and ECE is the size-weighted gap between accuracy and confidence")
    func calibration() {
        let scores = LabelScores(Self.scored)
        #expect(scores.bins.count == 10)
        #expect(scores.bins.map(\.count).reduce(0, +) == 10)
        // Bins with members: 0.3 (wrong), 0.45 (wrong), 0.55 (wrong), 0.65 (right), 0.75 (right),
        // 0.8 and 0.85 (right), 0.9, 0.92 and 0.95 (right).
        let expected = (0.3 + 0.45 + 0.55 + (1 - 0.65) + (1 - 0.75) + (2 - 0.8 - 0.85) + (3 - 0.9 - 0.92 - 0.95)) / 10
        #expect(abs(scores.expectedCalibrationError - expected) < 1e-12)
        let perfect = LabelScores([Scored(expected: "a", predicted: "a", confidence: 1),
                                   Scored(expected: "a", predicted: "b", confidence: 0)])
        #expect(perfect.expectedCalibrationError == 0)
    }

    @Test("coverage: the threshold that auto-accepts a share of the queries, and how accurate those are")
    func coverage() throws {
        let scores = LabelScores(Self.scored)
        let half = try #require(scores.coverage.first)
        // The five most confident: 0.95, 0.92, 0.9, 0.85, 0.8 — all right.
        #expect(half.threshold == 0.8 && half.coverage == 0.5 && half.accuracy == 1)
        let most = try #require(scores.coverage.first { $0.coverage == 0.8 })
        // Eight: adds 0.75 (right), 0.65 (right), 0.55 (wrong).
        #expect(most.threshold == 0.55 && most.accuracy == 7.0 / 8)
        #expect(scores.coverage.last?.coverage == 1 && scores.coverage.last?.accuracy == 0.7)
        let tied = try #require(LabelScores.coverage(
            [Scored(expected: "a", predicted: "a", confidence: 0.9), Scored(expected: "a", predicted: "b", confidence: 0.9),
             Scored(expected: "a", predicted: "a", confidence: 0.1)], share: 0.5))
        #expect(tied.coverage == 2.0 / 3, "queries tied at the threshold are all accepted")
    }
}
