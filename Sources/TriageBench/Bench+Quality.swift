import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import TriageCore
import TriageIngest
import TriageLLM

extension Bench {
    // MARK: (h) label quality on a real model

    /// SmolLM2 on llama.cpp, the development data split by holdout with a fixed seed, a taxonomy written from the
    /// category names alone: accuracy without examples (Triage's prompt), with retrieved examples, and of a one-line
    /// baseline prompt, side by side. `BENCH_QUALITY_DATA` names another labelled file, `BENCH_QUALITY_HOLDOUT` the
    /// share scored (default 0.2), `BENCH_QUALITY_LIMIT` caps the queries scored, `BENCH_QUALITY_ROWS` picks rows
    /// (`listed,ranked,examples,baseline`, all by default).
    static func quality() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["BENCH_QUALITY_DATA"] ?? "../shared/data/support-dev.jsonl"
        let holdout = environment["BENCH_QUALITY_HOLDOUT"].flatMap(Double.init) ?? 0.2
        let labelled = try ExampleFileReader.read(path: path)
        var taxonomy = Self.taxonomy(fromCategoriesOf: labelled)
        // `BENCH_QUALITY_FIELDS=category,priority` asks the model for those fields only (the taxonomy's `fields`).
        taxonomy.fields = environment["BENCH_QUALITY_FIELDS"].map {
            $0.split(separator: ",").compactMap { Taxonomy.Field(rawValue: String($0)) }
        }
        var split = Evaluation.split(labelled, holdout: holdout, seed: 1)
        if let limit = environment["BENCH_QUALITY_LIMIT"].flatMap(Int.init) { split.scored = Array(split.scored.prefix(limit)) }
        print("(h) label quality: SmolLM2-135M-Instruct on llama.cpp (2 slots), \(path): \(split.scored.count) held-out "
              + "queries scored, \(split.examples.count) examples, \(taxonomy.categories.count) categories "
              + "(chance \(String(format: "%.2f", 1 / Double(taxonomy.categories.count))))")
        let rows: [(key: String, name: String, style: LLMConfiguration.PromptStyle, ranked: Bool, ExampleIndex?)] = [
            ("listed", "Triage's prompt, no examples, categories in the taxonomy's order (before)", .full, false, nil),
            ("ranked", "Triage's prompt, no examples, categories most like the query first", .full, true, nil),
            ("examples", "Triage's prompt, 8 retrieved examples", .full, true, ExampleIndex(split.examples)),
            ("baseline", "one-line baseline prompt", .oneLine, false, nil),
        ]
        let chosen = Set((environment["BENCH_QUALITY_ROWS"] ?? "listed,ranked,examples,baseline")
            .split(separator: ",").map(String.init))
        try await LlamaServer.run(slots: 2) { base in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            for (key, name, style, ranked, examples) in rows where chosen.contains(key) {
                var configuration = LLMConfiguration(provider: .openAI, baseURL: base, model: "smollm2")
                configuration.promptStyle = style
                configuration.rankCategories = ranked
                configuration.requestTimeout = .seconds(120)
                let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                               logger: silent, examples: examples)
                let report = await Evaluation.run(split.scored, classifier: classifier, concurrency: 2)
                let c = report.category
                let auto = c.coverage.first { $0.coverage >= 0.8 }
                print("""
                        \(name):
                          accuracy \(String(format: "%.3f", c.accuracy)), macro-F1 \(String(format: "%.3f", c.macroF1)), \
                    ECE \(String(format: "%.3f", c.expectedCalibrationError)), \
                    at the threshold auto-accepting 80%: \(auto.map { String(format: "%.3f accurate (t = %.3f)", $0.accuracy, $0.threshold) } ?? "n/a"); \
                    \(Int(report.promptTokensPerQuery.rounded())) prompt tokens/query, \
                    \(String(format: "%.2f", report.queriesPerSecond)) queries/s, \(report.failed) failed
                    """)
            }
            try await client.shutdown()
        }
    }

    /// A taxonomy written from category names alone, as a new user would: `cancellation_fee` → "Cancellation fee.".
    static func taxonomy(fromCategoriesOf labelled: [LabelledExample]) -> Taxonomy {
        let names = Set(labelled.map(\.category)).sorted()
        var taxonomy = Taxonomy.customerSupport
        taxonomy.name = "from-category-names"
        taxonomy.categories = names.map { name in
            let words = name.replacingOccurrences(of: "_", with: " ")
            return Taxonomy.Label(name, words.prefix(1).uppercased() + words.dropFirst() + ".")
        }
        return taxonomy
    }

    // MARK: retrieval cost

    /// Index build time and memory for 100,000 examples, and lookup time per query.
    static func retrieval() throws {
        let count = ProcessInfo.processInfo.environment["BENCH_RETRIEVAL_COUNT"].flatMap(Int.init) ?? 100_000
        let queries = SampleQueries.generate(count: count, seed: 7)
        let pool = queries.enumerated().map { LabelledExample(text: $1.text, category: "c\($0 % 11)") }
        let before = residentBytes()
        let started = ContinuousClock.now
        let index = ExampleIndex(pool)
        let built = ContinuousClock.now - started
        let grown = residentBytes() - before
        let probes = SampleQueries.generate(count: 2_000, seed: 8)
        let lookups = ContinuousClock.now
        var found = 0
        for probe in probes { found += index.nearest(to: probe.text, k: 8).count }
        let perLookup = (ContinuousClock.now - lookups) / probes.count
        print("""
            retrieval: BM25 index of \(count) examples built in \(String(format: "%.2f s", built.timeInterval)), \
            resident memory +\(grown / 1_048_576) MiB; the 8 nearest found in \
            \(String(format: "%.2f ms", perLookup.timeInterval * 1000)) per query (\(found / probes.count) per query)
            """)
    }

    /// This process's resident set, from /proc.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = status.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
