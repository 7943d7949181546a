import ArgumentParser
import Foundation
import TriageCore
import TriageLLM

/// Which classifier a run uses, and the mock classifier's knobs.
struct ClassifierOptions: ParsableArguments {
    @Flag(name: .long, help: "Classify with the built-in mock classifier (keyword rules, no network, no cost).")
    var mockLlm = false

    @Option(name: .long, help: ArgumentHelp("Median latency the mock classifier simulates.", valueName: "ms"))
    var mockLatencyMs: Double = 0

    @Option(name: .long, help: ArgumentHelp("Share of mock attempts that fail transiently, 0 to 1.", valueName: "rate"))
    var mockFailureRate: Double = 0

    @Option(name: .long, help: ArgumentHelp("A taxonomy file (JSON or YAML) to use instead of the built-in one.",
                                            valueName: "file"))
    var taxonomy: String?

    func validate() throws {
        guard mockLatencyMs >= 0 else { throw ValidationError("--mock-latency-ms must be 0 or more") }
        guard (0...1).contains(mockFailureRate) else { throw ValidationError("--mock-failure-rate must be between 0 and 1") }
    }

    func loadTaxonomy() throws -> Taxonomy {
        guard let taxonomy else { return .customerSupport }
        return try Taxonomy.load(contentsOf: URL(fileURLWithPath: taxonomy))
    }

    /// The classifier these options name.
    /// - Throws: `ValidationError` when no classifier was chosen.
    func makeClassifier() throws -> (any Classifier, name: String) {
        guard mockLlm else {
            throw ValidationError("""
                no classifier chosen: pass --mock-llm to classify with the built-in mock classifier \
                (HTTP LLM providers are not part of this build yet)
                """)
        }
        var configuration = MockClassifier.Configuration()
        if mockLatencyMs > 0 {
            configuration.latency = .logNormal(median: .milliseconds(mockLatencyMs), sigma: 0.5)
        }
        configuration.failureRate = mockFailureRate
        return (MockClassifier(taxonomy: try loadTaxonomy(), configuration: configuration), "mock")
    }
}
