import AsyncHTTPClient
import Foundation
import Logging
import TestSupport
import TriageCore
import TriageIngest
import TriageLLM

extension Bench {
    // MARK: (h) label quality on a real model

    /// SmolLM2 on llama.cpp, the development data split by holdout with a fixed seed, taxonomies written from the
    /// label names alone (as a new user would), side by side in one run: for the 11 categories and the 27 intents,
    /// the default six fields and category only, today's prompt (8 retrieved examples, every category listed), with
    /// candidates (a large taxonomy's prompt and grammar hold only what the evidence supports), and with the
    /// examples answering alone when they decide it; and the nearest example's label alone. Each row: accuracy,
    /// macro-F1, ECE, failed queries, repairs, LLM calls per 100 queries, prompt tokens per query, queries/s.
    ///
    /// `BENCH_QUALITY_DATA` names another labelled file, `BENCH_QUALITY_HOLDOUT` the share scored (default 0.2),
    /// `BENCH_QUALITY_LIMIT` caps the queries scored, `BENCH_QUALITY_LABELS` picks label sets (`category,intent`; `intent:10` keeps at most 10 examples per label),
    /// `BENCH_QUALITY_FIELDS` field sets (`six,category`), `BENCH_QUALITY_ROWS` prompts (`today,candidates,examples`),
/// `BENCH_QUALITY_CANDIDATES` how many candidates the candidates rows offer (`8`; `3,5,8` a row for each).
    static func quality() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["BENCH_QUALITY_DATA"] ?? "../shared/data/support-dev.jsonl"
        let holdout = environment["BENCH_QUALITY_HOLDOUT"].flatMap(Double.init) ?? 0.2
        func chosen(_ name: String, _ all: String) -> [String] {
            (environment[name] ?? all).split(separator: ",").map(String.init)
        }
        let fieldSets = chosen("BENCH_QUALITY_FIELDS", "six,category")
        let prompts = chosen("BENCH_QUALITY_ROWS", "today,candidates,examples")
        let candidateCounts = chosen("BENCH_QUALITY_CANDIDATES", "\(LLMConfiguration.defaultCandidates)")
            .compactMap { Int($0) }
        print("(h) label quality: SmolLM2-135M-Instruct on llama.cpp (2 slots), \(path), seed 1, holdout \(holdout)")
        try await LlamaServer.run(slots: 2) { base in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            for labels in chosen("BENCH_QUALITY_LABELS", "category,intent") {
                // `intent:10`: the intents, with at most 10 examples of each in the pool (a small labelled set).
                let parts = labels.split(separator: ":")
                let labelField = String(parts[0])
                let perLabel = parts.count > 1 ? Int(parts[1]) : nil
                let labelled = try Self.labelled(path: path, field: labelField)
                var split = Evaluation.split(labelled, holdout: holdout, seed: 1)
                if let perLabel {
                    var kept: [String: Int] = [:]
                    split.examples = split.examples.filter { example in
                        kept[example.category, default: 0] += 1
                        return kept[example.category]! <= perLabel
                    }
                }
                if let limit = environment["BENCH_QUALITY_LIMIT"].flatMap(Int.init) {
                    split.scored = Array(split.scored.prefix(limit))
                }
                let names = Set(labelled.map(\.category))
                print("""

                    \(labelField)\(perLabel.map { " (at most \($0) examples per label)" } ?? ""): \(names.count) labels (chance \(String(format: "%.3f", 1 / Double(names.count)))), \
                    \(split.scored.count) held-out queries scored, \(split.examples.count) examples
                    """)
                let index = ExampleIndex(split.examples)
                print("  " + Self.qualityRow("nearest example's label alone", Self.nearestLabel(split, index: index)))
                do {
                    // What the examples answer would give on every query: the evidence's leading label, no call.
                    var configuration = LLMConfiguration(provider: .openAI, baseURL: base, model: "smollm2")
                    configuration.answerFromExamples = .threshold(0)
                    var taxonomy = Self.taxonomy(fromCategoriesOf: labelled)
                    taxonomy.fields = [.category]
                    let leader = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                               logger: silent, examples: index)
                    let report = await Evaluation.run(split.scored, classifier: leader, concurrency: 2)
                    print("  " + Self.qualityRow("the evidence's leading label alone", report))
                }
                if names.count > 12 {
                    // How often the right label is among what the model is offered: the ceiling of a candidates row.
                    for count in candidateCounts {
                        var configuration = LLMConfiguration(provider: .openAI, baseURL: base, model: "smollm2")
                        configuration.candidates = count
                        configuration.answerFromExamples = .off  // only the candidates are read: no threshold to choose
                        let finder = LLMClassifier(configuration: configuration,
                                                   taxonomy: Self.taxonomy(fromCategoriesOf: labelled),
                                                   client: client, logger: silent, examples: index)
                        let offered = split.scored.map { finder.candidateNames(for: $0.text) }
                        let holding = zip(split.scored, offered).filter { query, names in
                            names.map { $0.contains(query.category) } ?? true
                        }.count
                        let firstRight = zip(split.scored, offered).filter { query, names in
                            names?.first == query.category
                        }.count
                        print(String(format: "  %d candidates: the right label offered for %d of %d (%.3f), "
                                     + "offered first for %d (%.3f)", count, holding, split.scored.count,
                                     Double(holding) / Double(max(1, split.scored.count)), firstRight,
                                     Double(firstRight) / Double(max(1, split.scored.count))))
                    }
                }
                for fields in fieldSets {
                    var taxonomy = Self.taxonomy(fromCategoriesOf: labelled)
                    taxonomy.fields = fields == "category" ? [.category] : nil
                    print("  \(fields == "category" ? "category only" : "the default six fields"):")
                    // A candidates row for each count asked for; the others once.
                    let rows = prompts.flatMap { prompt in
                        prompt == "candidates" ? candidateCounts.map { (prompt, $0) } : [(prompt, nil)]
                    }
                    for (prompt, count) in rows {
                        var configuration = LLMConfiguration(provider: .openAI, baseURL: base, model: "smollm2")
                        configuration.requestTimeout = .seconds(120)
                        configuration.answerFromExamples = prompt == "examples" ? .auto : .off
                        configuration.candidates = prompt == "today" ? 0 : count
                        let name = switch prompt {
                        case "today": "today's prompt (8 examples, every label)"
                        case "candidates" where candidateCounts.count > 1: "with \(count ?? 0) candidates"
                        case "candidates": "with candidates"
                        default: "with the examples answering"
                        }
                        if prompt == "candidates" && names.count <= 12 {
                            print("    \(name.padding(toLength: 42, withPad: " ", startingAt: 0)) (a taxonomy of 12 or fewer lists every label: as above)")
                            continue
                        }
                        let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                                       logger: silent, examples: index)
                        let report = await Evaluation.run(split.scored, classifier: classifier, concurrency: 2)
                        print("    " + Self.qualityRow(name, report))
                        if prompt == "examples", let decision = classifier.examplesDecision {
                            let examples = report.answersBySource["examples"]
                            print("    " + String(repeating: " ", count: 43) + String(
                                format: "examples answered %d of %d (%.0f%%), %.3f right; threshold %@ by leave-one-out "
                                    + "over %d examples (%.0f%% answered there, %.3f right)",
                                examples?.count ?? 0, split.scored.count,
                                Double(examples?.count ?? 0) / Double(max(1, split.scored.count)) * 100,
                                examples?.accuracy ?? 0, decision.threshold.map { String(format: "%.3f", $0) } ?? "none",
                                decision.measured, decision.coverage * 100, decision.accuracy))
                            if let model = decision.model {
                                print("    " + String(repeating: " ", count: 43) + String(
                                    format: "the model measured first on %d of the pool: %d right, so held to %.3f "
                                        + "(%d requests, in calls/100 and tokens above)",
                                    model.measured, model.correct, model.target, model.requests))
                            }
                        }
                    }
                }
            }
            try await client.shutdown()
        }
    }

    /// One row: `name  accuracy 0.930  macro-F1 …`.
    static func qualityRow(_ name: String, _ report: Evaluation.Report) -> String {
        let c = report.category
        let calls = report.llmRequests.map { String(format: "%5.1f", Double($0) / Double(max(1, c.count)) * 100) } ?? "    -"
        return name.padding(toLength: 42, withPad: " ", startingAt: 0) + String(
            format: " accuracy %.3f  macro-F1 %.3f  ECE %.3f  failed %3d  repairs %3d  calls/100 %@  "
                + "prompt tokens/query %5.0f  %5.2f queries/s",
            c.accuracy, c.macroF1, c.expectedCalibrationError, report.failed, report.repairs ?? 0, calls,
            report.promptTokensPerQuery, report.queriesPerSecond)
    }

    /// The nearest example's label as the answer, confidence 1: what the examples say
    /// with no model (an example of the query's very words excluded, as the classifier excludes it).
    static func nearestLabel(_ split: Evaluation.Split, index: ExampleIndex) -> Evaluation.Report {
        let started = ContinuousClock.now
        let answers: [Classification?] = split.scored.map { query in
            let nearest = index.nearest(to: query.text, k: 2).first { $0.example.text != query.text }
            return nearest.map {
                Classification(category: $0.example.category, priority: "", sentiment: "", language: "",
                               confidence: 1, summary: "", model: "nearest", taxonomyVersion: "")
            }
        }
        var report = Evaluation.score(split.scored, answers: answers,
                                      seconds: (ContinuousClock.now - started).timeInterval)
        report.llmRequests = 0
        return report
    }

    /// A labelled file with `field` (`category`, or another string field such as `intent`) as the label.
    static func labelled(path: String, field: String) throws -> [LabelledExample] {
        if field == "category" { return try ExampleFileReader.read(path: path) }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let text = object["text"] as? String, let label = object[field] as? String else { return nil }
            return LabelledExample(text: text, category: label)
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
