import Foundation
import Testing
import TriageCore
@testable import TriageLLM

@Suite("What the examples say before a model is asked")
struct EvidenceTests {
    /// A taxonomy of `count` categories named after distinct topics, each with a description of its own words.
    static func largeTaxonomy(_ count: Int) -> Taxonomy {
        let topics = ["refund", "password", "invoice", "shipping", "warranty", "coupon", "subscription", "address",
                      "damaged", "account", "newsletter", "gift", "battery", "installation", "pricing", "loyalty",
                      "feedback", "careers", "privacy", "complaint"]
        var taxonomy = Taxonomy.customerSupport
        taxonomy.name = "large"
        taxonomy.categories = topics.prefix(count).map { Taxonomy.Label($0, "questions about \($0) matters") }
        return taxonomy
    }

    static let examples: [LabelledExample] = [
        .init(text: "I want a refund for my order", category: "refund", priority: "high", sentiment: "negative"),
        .init(text: "please refund the money for the order", category: "refund", priority: "high", sentiment: "negative"),
        .init(text: "refund my order now", category: "refund", priority: "medium", sentiment: "negative"),
        .init(text: "I forgot my password and cannot log in", category: "password", priority: "medium",
              sentiment: "neutral"),
        .init(text: "reset my password please", category: "password", priority: "medium", sentiment: "neutral"),
        .init(text: "where is the invoice for last month", category: "invoice", priority: "low", sentiment: "neutral"),
    ]

    @Test("a large taxonomy offers the model the categories its examples and descriptions support")
    func candidatesOfLargeTaxonomy() throws {
        let taxonomy = Self.largeTaxonomy(20)
        let finder = EvidenceFinder(taxonomy: taxonomy, examples: ExampleIndex(Self.examples), examplesPerQuery: 4,
                                    candidates: nil)
        let evidence = finder.evidence(for: "my battery is dead, can I have a refund?")
        let offered = try #require(evidence.candidates).map(\.name)
        #expect(offered.count == EvidenceFinder.defaultCandidates)
        #expect(offered.contains("refund"))
        // Named only by its description's words, never by an example.
        #expect(offered.contains("battery"))
        #expect(offered.prefix(2).contains("refund"))
        #expect(Set(offered).count == offered.count)
        // The places the evidence leaves are the taxonomy's first other categories, in order.
        let supported = offered.prefix { ["refund", "battery", "password", "invoice"].contains($0) }
        let rest = taxonomy.categoryNames.filter { !supported.contains($0) }.prefix(offered.count - supported.count)
        #expect(Array(offered.dropFirst(supported.count)) == Array(rest))
        // Asked for all: no candidates.
        let all = EvidenceFinder(taxonomy: taxonomy, examples: nil, examplesPerQuery: 0, candidates: 0)
        #expect(all.evidence(for: "my battery is dead").candidates == nil)
        // A small taxonomy is offered whole.
        let small = EvidenceFinder(taxonomy: .customerSupport, examples: ExampleIndex(Self.examples),
                                   examplesPerQuery: 4, candidates: nil)
        #expect(small.evidence(for: "refund my order").candidates == nil)
    }

    @Test("the leading label weighs the examples' votes with the categories' own names and descriptions")
    func leaderWeighsNames() throws {
        let taxonomy = Self.largeTaxonomy(20)
        // The nearest examples are about refunds, but the query names the warranty category's own words.
        let pool: [LabelledExample] = [
            .init(text: "my order broke, I want my money", category: "refund"),
            .init(text: "money back for a late parcel", category: "refund"),
            .init(text: "the warranty card for my order is missing", category: "warranty"),
        ]
        let finder = EvidenceFinder(taxonomy: taxonomy, examples: ExampleIndex(pool), examplesPerQuery: 3,
                                    candidates: nil)
        let evidence = finder.evidence(for: "my order broke, warranty matters")
        #expect(evidence.votes.first?.label == "refund")
        #expect(evidence.leader?.label == "warranty")
        // Shares of all the evidence: they sum to one, largest first.
        #expect(abs(evidence.support.map(\.share).reduce(0, +) - 1) < 1e-9)
        #expect(evidence.support.map(\.share) == evidence.support.map(\.share).sorted(by: >))
        // The candidates are the same ranking, led by the same label.
        #expect(evidence.candidates?.first?.name == "warranty")
        // Names that say nothing of the query leave the examples' vote as it is.
        let plain = finder.evidence(for: "my order broke, money please")
        #expect(plain.leader?.label == "refund")
    }

    @Test("decisive examples answer alone, with the priority and sentiment of the examples that agree")
    func examplesAnswer() throws {
        var taxonomy = Self.largeTaxonomy(20)
        taxonomy.fields = [.category, .priority, .sentiment]
        let finder = EvidenceFinder(taxonomy: taxonomy, examples: ExampleIndex(Self.examples), examplesPerQuery: 3,
                                    candidates: nil)
        // An example of the query's very words is never among its evidence (it would be its own label).
        #expect(finder.evidence(for: "refund my order now").shots.allSatisfy { $0.example.text != "refund my order now" })
        let decisive = finder.evidence(for: "refund for my order now please")
        #expect(decisive.leader?.label == "refund")
        let answer = try #require(finder.examplesAnswer(decisive, threshold: 0.5))
        #expect(answer.category == "refund")
        #expect(answer.sentiment == "negative")
        #expect(answer.priority == "medium" || answer.priority == "high")
        // Weak evidence does not answer.
        let vague = finder.evidence(for: "hello, a question about my account settings and the order")
        #expect(finder.examplesAnswer(vague, threshold: 0.9) == nil)
        // A summary the examples do not carry: never answered without the model.
        var withSummary = taxonomy
        withSummary.fields = nil
        let asking = EvidenceFinder(taxonomy: withSummary, examples: ExampleIndex(Self.examples), examplesPerQuery: 3,
                                    candidates: nil)
        #expect(asking.examplesAnswer(asking.evidence(for: "refund my order now"), threshold: 0) == nil)
        #expect(asking.chooseThreshold(target: 0.97).threshold == nil)
    }

    /// `count` examples of each of the first `topics` clear topics (refund, password, invoice), told apart by a number.
    static func topicPool(_ count: Int, topics: Int) -> [LabelledExample] {
        let texts = [("refund request number", "money back", "refund"), ("password reset problem", "login", "password"),
                     ("invoice copy needed", "billing pdf", "invoice")].prefix(topics)
        return (0..<count).flatMap { index in
            texts.map { LabelledExample(text: "\($0.0) \(index) \($0.1)", category: $0.2) }
        }
    }

    /// Three clear topics the examples get right (30 each), and 30 queries that mix them, right about one time in
    /// three; category only.
    static func mixedFinder(examples: [LabelledExample]? = nil) -> EvidenceFinder {
        var taxonomy = Self.largeTaxonomy(3)
        taxonomy.fields = [.category]
        let pool = examples ?? Self.topicPool(30, topics: 3) + (0..<30).map {
            LabelledExample(text: "refund login invoice mixed \($0)", category: ["refund", "password", "invoice"][$0 % 3])
        }
        return EvidenceFinder(taxonomy: taxonomy, examples: pool.isEmpty ? nil : ExampleIndex(pool), examplesPerQuery: 5,
                              candidates: nil)
    }

    @Test("the threshold is chosen leaving each example out, and its measured accuracy reaches the target")
    func thresholdByLeaveOneOut() {
        let finder = Self.mixedFinder()
        let decision = finder.chooseThreshold(target: 0.97)
        #expect(decision.threshold != nil)
        #expect(decision.accuracy >= 0.97)
        #expect(decision.coverage > 0.3 && decision.coverage < 1)
        #expect(decision.pool == 120)
        let none = Self.mixedFinder(examples: [])
        #expect(none.chooseThreshold(target: 0.97).threshold == nil)
    }

    @Test("below 0.97's threshold the examples answer only where their added answers beat the model's accuracy")
    func thresholdAgainstModel() throws {
        let finder = Self.mixedFinder()
        let strict = finder.chooseThreshold(target: 0.97)
        let threshold = try #require(strict.threshold)
        // A model right 0.9 of the time beats the examples on the mixed queries: they add nothing there, although
        // all their answers together would still be more than 0.7 right.
        #expect(finder.chooseThreshold(target: 0.97, model: 0.9) == strict)
        // A model right 0.1 of the time does not: the examples answer more, at a lower threshold.
        let weak = finder.chooseThreshold(target: 0.97, model: 0.1)
        #expect(try #require(weak.threshold) < threshold)
        #expect(weak.coverage > strict.coverage && weak.accuracy < strict.accuracy)
        // Without a threshold of 0.97's, the model's accuracy is the whole target.
        let small = Self.mixedFinder(examples: Self.topicPool(25, topics: 2))
        #expect(small.chooseThreshold(target: 0.97).threshold == nil)
        #expect(small.chooseThreshold(target: 0.97, model: 0.5).threshold != nil)
    }

    @Test("a threshold needs enough answers behind its accuracy: the Wilson lower bound, not the measured share")
    func thresholdLowerBound() {
        // 20 of 20 right could be luck; 97 of 100 is 0.97 measured but not at least 0.97 with confidence.
        #expect(EvidenceFinder.lowerBound(correct: 20, of: 20) < 0.9)
        #expect(EvidenceFinder.lowerBound(correct: 97, of: 100) < 0.97)
        #expect(EvidenceFinder.lowerBound(correct: 990, of: 1_000) > 0.98)
        #expect(EvidenceFinder.lowerBound(correct: 0, of: 0) == 0)
        // A pool where the lowest scores are right only by a lucky streak: the streak is not taken.
        var taxonomy = Self.largeTaxonomy(3)
        taxonomy.fields = [.category]
        let pool = Self.topicPool(25, topics: 2)
        let finder = EvidenceFinder(taxonomy: taxonomy, examples: ExampleIndex(pool), examplesPerQuery: 5,
                                    candidates: nil)
        let decision = finder.chooseThreshold(target: 0.97)
        // 50 clear examples, all right: the lower bound of 50 of 50 is under 0.97, so no threshold is chosen.
        #expect(EvidenceFinder.lowerBound(correct: 50, of: 50) < 0.97)
        #expect(decision.threshold == nil)
    }
}
