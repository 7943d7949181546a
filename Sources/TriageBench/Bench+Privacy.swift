import AsyncHTTPClient
import Foundation
import TestSupport
import TriageCore
import TriageLLM
import TriageRedaction

extension Bench {
    // MARK: (p) privacy

    /// The redactor on generated support queries (``PersonalDataGenerator``, seed 7): per kind, the share of values
    /// caught (every byte of the value replaced) and the values that left whole; false redactions (what it marked
    /// that is no generated value) as a share of all it marked, on the queries and on look-alikes with nothing
    /// personal; and its speed on one core. `BENCH_PRIVACY_COUNT` sets the number of queries (default 2,000, and a
    /// quarter as many look-alikes).
    static func privacy() throws {
        let count = ProcessInfo.processInfo.environment["BENCH_PRIVACY_COUNT"].flatMap(Int.init) ?? 2_000
        var generator = PersonalDataGenerator(seed: 7)
        let samples = generator.samples(count: count, negatives: count / 4)
        let redactor = Redactor()
        var values: [String: (total: Int, caught: Int, leaked: Int)] = [:]
        var marked = 0, falseMarks = 0, marksOnLookAlikes = 0
        var missed: [String: [String]] = [:]
        for sample in samples {
            let redaction = redactor.redact(sample.text)
            let bytes = Array(sample.text.utf8)
            var covered = [Bool](repeating: false, count: bytes.count)
            for finding in redaction.findings { for index in finding.start..<finding.end { covered[index] = true } }
            var personal = [Bool](repeating: false, count: bytes.count)
            for (kind, value) in sample.values {
                let ranges = Self.ranges(of: Array(value.utf8), in: bytes)
                var entry = values[kind, default: (0, 0, 0)]
                for range in ranges {
                    entry.total += 1
                    for index in range { personal[index] = true }
                    if range.allSatisfy({ covered[$0] }) { entry.caught += 1 } else {
                        if missed[kind, default: []].count < 3 {
                            missed[kind, default: []].append(ProcessInfo.processInfo.environment["BENCH_PRIVACY_SHOW"] == nil
                                                             ? value : "\(value) in: \(redaction.text)")
                        }
                    }
                    // Left whole: no byte of it replaced.
                    if range.allSatisfy({ !covered[$0] }) { entry.leaked += 1 }
                }
                values[kind] = entry
            }
            for finding in redaction.findings {
                marked += 1
                if !(finding.start..<finding.end).contains(where: { personal[$0] }) {
                    if ProcessInfo.processInfo.environment["BENCH_PRIVACY_SHOW"] != nil, falseMarks < 12 {
                        print("    false: \(finding.kind.rawValue) '\(finding.value)' in: \(sample.text)")
                    }
                    falseMarks += 1
                    if sample.values.isEmpty { marksOnLookAlikes += 1 }
                }
            }
        }
        // Speed: every text redacted in turn on one task (one core), the best of three passes.
        let texts = samples.map(\.text)
        var rates: [Double] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            var found = 0
            for text in texts { found += redactor.redact(text).findings.count }
            let seconds = (ContinuousClock.now - start).timeInterval
            rates.append(Double(texts.count) / seconds)
            precondition(found > 0)
        }
        print("""
            (p) privacy: the redactor on \(count) generated support queries in 8 countries' formats and \(count / 4) \
            look-alikes with nothing personal (seed 7)
                kind       values  caught  recall  left whole
            """)
        for kind in ["EMAIL", "PHONE", "CARD", "IBAN", "IP", "PERSON", "ADDRESS"] {
            let entry = values[kind, default: (0, 0, 0)]
            let recall = entry.total > 0 ? Double(entry.caught) / Double(entry.total) : 0
            print("    \(kind.padding(toLength: 9, withPad: " ", startingAt: 0))  \(String(format: "%6d  %6d  %6.3f  %10d", entry.total, entry.caught, recall, entry.leaked))"
                  + (missed[kind].map { "   missed e.g. \($0.joined(separator: " | "))" } ?? ""))
        }
        print("""
                false redactions: \(falseMarks) of \(marked) marked (\(String(format: "%.1f%%", 100 * Double(falseMarks) / Double(max(marked, 1))))), \
            \(marksOnLookAlikes) of them on the look-alikes
                speed: \(String(format: "%.0f", median(rates))) queries/s on one core (passes: \(format(rates)))
            """)
    }

    /// Label accuracy with and without redaction, side by side, through SmolLM2 on llama.cpp: the development data
    /// split as the quality bench splits it (seed 1, 20% scored, the rest the example pool), each scored query given
    /// a sign-off with a generated name, email and phone number (a customer's usual personal data), classified with
    /// today's prompt once as it is and once redacted (the examples redacted too). `BENCH_PRIVACY_ACCURACY_LIMIT`
    /// caps the queries scored (default 200); `0` skips this part.
    static func privacyAccuracy() async throws {
        let environment = ProcessInfo.processInfo.environment
        let limit = environment["BENCH_PRIVACY_ACCURACY_LIMIT"].flatMap(Int.init) ?? 200
        guard limit > 0 else { return }
        let path = environment["BENCH_QUALITY_DATA"] ?? "../shared/data/support-dev.jsonl"
        let labelled = try Self.labelled(path: path, field: "category")
        var split = Evaluation.split(labelled, holdout: 0.2, seed: 1)
        var generator = PersonalDataGenerator(seed: 11)
        let people = generator.samples(count: split.scored.count * 3, negatives: 0).map(\.values)
        func first(_ kind: String, from offset: Int) -> String? {
            (0..<people.count).lazy.map { people[(offset + $0) % people.count] }
                .compactMap { $0.first { $0.kind == kind }?.value }.first
        }
        split.scored = split.scored.prefix(limit).enumerated().map { index, example in
            var signed = example
            let name = first("PERSON", from: index) ?? "Maria Keller"
            signed.text += "\n\nThanks, \(name)\n\(first("EMAIL", from: index) ?? "") · \(first("PHONE", from: index) ?? "")"
            return signed
        }
        let taxonomy = Self.taxonomy(fromCategoriesOf: labelled)
        let index = ExampleIndex(split.examples)
        print("""

            (p) privacy: label accuracy with and without redaction, SmolLM2-135M-Instruct on llama.cpp (2 slots), \(path): \
            \(split.scored.count) held-out queries, each signed with a generated name, email and phone; \(split.examples.count) examples
            """)
        try await LlamaServer.run(slots: 2) { base in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var accuracies: [Double] = []
            for redact in [false, true] {
                var configuration = LLMConfiguration(provider: .openAI, baseURL: base, model: "smollm2")
                configuration.requestTimeout = .seconds(120)
                configuration.answerFromExamples = .off
                configuration.candidates = 0
                configuration.redact = redact
                let classifier = LLMClassifier(configuration: configuration, taxonomy: taxonomy, client: client,
                                               logger: silent, examples: index)
                let report = await Evaluation.run(split.scored, classifier: classifier, concurrency: 2)
                accuracies.append(report.category.accuracy)
                print("    " + Self.qualityRow(redact ? "redacted (--redact)" : "as written (--no-redact)", report))
            }
            print(String(format: "    difference: %+.3f (redacted minus as written)", accuracies[1] - accuracies[0]))
            try await client.shutdown()
        }
    }

    /// Every place `needle` occurs in `haystack`.
    static func ranges(of needle: [UInt8], in haystack: [UInt8]) -> [Range<Int>] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var found: [Range<Int>] = []
        var start = 0
        while start + needle.count <= haystack.count {
            if haystack[start] == needle[0], Array(haystack[start..<(start + needle.count)]) == needle {
                found.append(start..<(start + needle.count))
                start += needle.count
            } else {
                start += 1
            }
        }
        return found
    }
}
