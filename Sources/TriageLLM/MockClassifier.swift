import Foundation
import TriageCore

/// A **mock** classifier for the demo, tests and benchmarks: no network, no model.
///
/// It reads the text with keyword rules over the taxonomy, so its answers look sensible, and it is deterministic:
/// the same query and attempt always give the same answer, latency and injected failure.
public struct MockClassifier: Classifier {
    /// How the mock behaves.
    public struct Configuration: Sendable {
        /// How long each classification takes.
        public enum Latency: Sendable, Hashable {
            case none
            case fixed(Duration)
            /// Log-normal: `median × e^(σ·Z)`, the heavy-tailed shape of real LLM latency.
            case logNormal(median: Duration, sigma: Double)
        }

        public var latency: Latency = .none
        /// The share of attempts that fail with a transient error, in `0...1`.
        public var failureRate: Double = 0
        /// Changes which attempts fail and how long each takes.
        public var seed: UInt64 = 1
        /// Reported as the model name.
        public var model = "mock-classifier"

        public init() {}
    }

    public let taxonomy: Taxonomy
    public let configuration: Configuration
    private let rules: KeywordRules
    private let taxonomyVersion: String

    public init(taxonomy: Taxonomy = .customerSupport, configuration: Configuration = Configuration()) {
        self.taxonomy = taxonomy
        self.configuration = configuration
        self.rules = KeywordRules(taxonomy: taxonomy)
        self.taxonomyVersion = taxonomy.version
    }

    public func classify(_ request: ClassificationRequest) async throws -> Classification {
        var random = SeededGenerator(seed: configuration.seed ^ Self.hash(request.query.text) ^ UInt64(request.attempt))
        let delay = latency(using: &random)
        if delay > .zero {
            try await Task.sleep(for: delay)
        }
        try Task.checkCancellation()
        let promptTokens = Self.promptTokens(request.query)
        if Double.random(in: 0..<1, using: &random) < configuration.failureRate {
            var error = ClassifierError.mockTransient("mock classifier injected a failure on attempt \(request.attempt)")
            error.promptTokens = promptTokens
            throw error
        }
        let text = [request.query.subject, request.query.text].compactMap { $0 }.joined(separator: ". ")
        let verdict = rules.judge(text)
        return Classification(
            category: verdict.category,
            priority: verdict.priority,
            sentiment: verdict.sentiment,
            language: verdict.language,
            confidence: verdict.confidence,
            summary: Self.summarize(request.query),
            model: configuration.model,
            taxonomyVersion: taxonomyVersion,
            promptTokens: promptTokens,
            completionTokens: Self.completionTokens
        )
    }

    /// The tokens the mock reports: a fixed prompt plus a quarter of the text's bytes, and a fixed answer.
    static func promptTokens(_ query: SupportQuery) -> Int { 180 + query.text.utf8.count / 4 }
    static let completionTokens = 45

    /// The mock's answers are not reused: each query is its own test of the pipeline.
    public var reuseScope: String? { nil }

    /// The mock has no batch API, and no examples to answer from.
    public var batches: (any ProviderBatches)? { nil }
    public func answerWithoutCall(_ query: SupportQuery) -> Classification? { nil }
    public var examplesDecision: ExamplesDecision? { nil }
    public func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement? { nil }
    /// Keyword rules cost nothing, whatever the length.
    public var maxTextBytes: Int? { nil }

    /// Exactly what the mock will report (it costs nothing).
    public func estimate(_ query: SupportQuery) -> UsageEstimate? {
        UsageEstimate(promptTokens: Self.promptTokens(query), completionTokens: Self.completionTokens, costUSD: 0,
                      batchCostUSD: 0)
    }

    /// A delay drawn for one attempt. Exposed for the benchmark, which needs the mean it should expect.
    func latency(using random: inout SeededGenerator) -> Duration {
        switch configuration.latency {
        case .none:
            return .zero
        case .fixed(let duration):
            return duration
        case .logNormal(let median, let sigma):
            // Box–Muller: one standard normal from two uniforms.
            let u1 = max(Double.random(in: 0..<1, using: &random), .leastNonzeroMagnitude)
            let u2 = Double.random(in: 0..<1, using: &random)
            let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            return median * exp(sigma * z)
        }
    }

    /// The first sentence of the subject or text, cut to 80 characters.
    static func summarize(_ query: SupportQuery) -> String {
        let source = query.subject.flatMap { $0.isEmpty ? nil : $0 } ?? query.text
        if let summary = asciiSummary(source) { return summary }
        let flattened = source.split(whereSeparator: \.isNewline).joined(separator: " ")
        let sentence = flattened.split(whereSeparator: { ".!?".contains($0) }).first.map(String.init) ?? flattened
        let trimmed = sentence.trimmingCharacters(in: .whitespaces)
        return trimmed.count > 80 ? String(trimmed.prefix(79)) + "…" : trimmed
    }

    /// ``summarize(_:)`` of an ASCII text, read as bytes (the same rule: lines joined with a space, the first
    /// sentence, trimmed of spaces and tabs, cut to 80): splitting a `String` reads it a character at a time, which
    /// was a fifth of the mock's time. `nil` for any other text.
    private static func asciiSummary(_ source: String) -> String? {
        let bytes = source.utf8
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        let flattened = Array(bytes.split(whereSeparator: { (0x0A ... 0x0D).contains($0) })
            .joined(separator: [UInt8(ascii: " ")]))
        let sentence = flattened.split(whereSeparator: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "!")
                                                         || $0 == UInt8(ascii: "?") }).first ?? flattened[...]
        let blank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let start = sentence.firstIndex { !blank($0) } ?? sentence.endIndex
        let end = sentence.lastIndex { !blank($0) }.map { $0 + 1 } ?? start
        let trimmed = sentence[start..<max(start, end)]
        return trimmed.count > 80
            ? String(decoding: trimmed.prefix(79), as: UTF8.self) + "…"
            : String(decoding: trimmed, as: UTF8.self)
    }

    /// FNV-1a: a stable hash (Swift's `Hasher` is seeded per process).
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
