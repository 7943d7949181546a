import Foundation
import Testing
@testable import TriageLLM

/// The chosen label's probability from token log-probabilities, checked against hand-computed values.
@Suite("Label probability from logprobs")
struct LabelProbabilityTests {
    typealias Token = TokenLogprob

    static func token(_ text: String, _ p: Double, _ alternatives: [(String, Double)] = []) -> Token {
        Token(token: text, logprob: log(p), alternatives: alternatives.map { .init(token: $0.0, logprob: log($0.1)) })
    }

    static let allowed = ["delivery", "refund", "invoice", "cancellation_fee", "contact"]

    @Test("one token: its mass over the mass of every allowed label's first token; off-schema tokens ignored")
    func singleToken() throws {
        // As llama.cpp's server reports it: the code fence the grammar never lets through carries mass too.
        let tokens = [Self.token("{\"", 0.9), Self.token("category", 0.5), Self.token("\": \"", 0.8),
                      Self.token("delivery", 0.6, [("delivery", 0.6), ("refund", 0.2), ("```", 0.1), ("Delivery", 0.05)]),
                      Self.token("\"}", 0.9)]
        let p = try #require(LabelProbability.of("delivery", field: "category", allowed: Self.allowed, tokens: tokens))
        #expect(abs(p - 0.6 / 0.8) < 1e-9)
    }

    @Test("several tokens: the product of each step's share; rivals sharing a prefix split only where they differ")
    func severalTokens() throws {
        let tokens = [Self.token("{\"category\":", 1), Self.token(" \"", 1),
                      Self.token("c", 0.5, [("c", 0.5), ("refund", 0.3), ("x", 0.2)]),
                      Self.token("ancel", 0.6, [("ancel", 0.6), ("ontact", 0.3), ("zzz", 0.1)]),
                      Self.token("lation_fee", 0.9, [("lation_fee", 0.9), ("lation", 0.05)]),
                      Self.token("\"}", 1)]
        let p = try #require(LabelProbability.of("cancellation_fee", field: "category", allowed: Self.allowed,
                                                 tokens: tokens))
        // Step 1: "c" spells cancellation_fee (and contact) 0.5, refund 0.3 → 0.5/0.8. Step 2: 0.6/(0.6+0.3).
        // Step 3: both alternatives still spell cancellation_fee → 1.
        #expect(abs(p - (0.5 / 0.8) * (0.6 / 0.9)) < 1e-9)
    }

    @Test("a token holding the opening quote and the label's start: rivals must share the quote")
    func quoteInsideToken() throws {
        let tokens = [Self.token("{\"category\":", 1),
                      Self.token(" \"ref", 0.7, [(" \"ref", 0.7), (" \"inv", 0.2), ("ref", 0.1)]),
                      Self.token("und\"}", 1)]
        let p = try #require(LabelProbability.of("refund", field: "category", allowed: Self.allowed, tokens: tokens))
        #expect(abs(p - 0.7 / 0.9) < 1e-9)
    }

    @Test("no probability when the tokens do not spell the field and value")
    func absent() {
        let tokens = [Self.token("{\"priority\": \"high\"}", 1)]
        #expect(LabelProbability.of("refund", field: "category", allowed: Self.allowed, tokens: tokens) == nil)
        let other = [Self.token("{\"category\": \"invoice\"}", 1)]
        #expect(LabelProbability.of("refund", field: "category", allowed: Self.allowed, tokens: other) == nil)
    }
}
