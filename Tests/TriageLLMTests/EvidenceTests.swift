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

    @Test("the threshold is chosen leaving each example out, and its measured accuracy reaches the target")
    func thresholdByLeaveOneOut() {
        var taxonomy = Self.largeTaxonomy(3)
        taxonomy.fields = [.category]
        // Three clear topics, and queries that mix them.
        var pool: [LabelledExample] = []
        for index in 0..<30 {
            pool.append(.init(text: "refund request number \(index) money back", category: "refund"))
            pool.append(.init(text: "password reset problem \(index) login", category: "password"))
            pool.append(.init(text: "invoice copy needed \(index) billing pdf", category: "invoice"))
            pool.append(.init(text: "refund login invoice mixed \(index)", category: ["refund", "password", "invoice"][index % 3]))
        }
        let finder = EvidenceFinder(taxonomy: taxonomy, examples: ExampleIndex(pool), examplesPerQuery: 5,
                                    candidates: nil)
        let decision = finder.chooseThreshold(target: 0.97)
        #expect(decision.threshold != nil)
        #expect(decision.accuracy >= 0.97)
        #expect(decision.coverage > 0.3 && decision.coverage < 1)
        #expect(decision.pool == pool.count)
        let none = EvidenceFinder(taxonomy: taxonomy, examples: nil, examplesPerQuery: 5, candidates: nil)
        #expect(none.chooseThreshold(target: 0.97).threshold == nil)
    }
}
