import Foundation
import TestSupport
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
