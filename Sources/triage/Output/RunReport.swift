import TriageCore

/// A run record as a person reads it.
enum RunReport {
    static func render(_ run: RunRecord) -> String {
        let s = run.statistics
        var lines = [
            "Run \(run.id) \(run.state.rawValue) in "
                + (s.durationSeconds < 60 ? String(format: "%.1f s", s.durationSeconds) : Format.duration(s.durationSeconds)),
            "  classified   \(Format.right(Format.count(s.classified), 8))   \(String(format: "%.1f", s.queriesPerSecond)) queries/s",
            "  failed       \(Format.right(Format.count(s.failed), 8))",
            "  retried      \(Format.right(Format.count(s.retried), 8))   attempts that failed and were rescheduled",
        ]
        if s.released > 0 {
            lines.append("  released     \(Format.right(Format.count(s.released), 8))   handed back to pending, untouched")
        }
        if s.leaseLost > 0 {
            lines.append("  lease lost   \(Format.right(Format.count(s.leaseLost), 8))   taken over by another worker")
        }
        if s.classified > 0 {
            let l = s.latencyMs
            lines.append("  latency      p50 \(Self.ms(l.p50))  p95 \(Self.ms(l.p95))  p99 \(Self.ms(l.p99))  max \(Self.ms(l.max))")
        }
        let cached = s.tokens.cachedPrompt.map { " (\(Format.count($0)) cached)" } ?? ""
        lines.append("  tokens       \(Format.count(s.tokens.prompt)) prompt\(cached) + \(Format.count(s.tokens.completion)) completion"
                     + (s.costUSD > 0 ? String(format: "   $%.4f", s.costUSD) : ""))
        if let agreement = s.expectedLabels {
            lines.append("  accuracy     \(Format.right(String(format: "%.3f", agreement.accuracy), 8))   category right on "
                         + "\(Format.count(agreement.correct)) of \(Format.count(agreement.scored)) queries with expected labels")
        }
        if let unknown = s.expectedLabels?.unknown {
            lines.append("  " + LabelReport.mismatch(unknown: unknown, of: s.expectedLabels?.scored ?? 0))
        }
        if let decision = run.examplesDecision {
            lines.append("  examples     answer alone at " + LabelReport.decision(decision))
        }
        if let sources = s.answersBySource, sources.keys.contains(where: { $0 != "model" }) {
            lines.append("  answered by  " + Self.sources(sources))
        }
        if let problems = s.fieldProblems, problems > 0 {
            lines.append("  side fields  \(Format.right(Format.count(problems), 8))   answers kept with a side field "
                         + "normalised or dropped (fieldProblems)")
        }
        if let redactions = s.redactions, !redactions.isEmpty {
            let kinds = redactions.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
            lines.append("  redacted     \(Format.right(Format.count(redactions.values.reduce(0, +)), 8))   personal values "
                         + "sent as placeholders: " + kinds.joined(separator: ", "))
        }
        if let reused = s.reused, reused > 0 {
            lines.append("  reused       \(Format.right(Format.count(reused), 8))   answers of identical earlier queries, "
                         + "no model asked (--no-reuse to ask anyway)")
        }
        if let flagged = s.needsReview {
            lines.append("  review       \(Format.right(Format.count(flagged), 8))   under the review threshold: "
                         + "triage stats --needs-review lists them")
        }
        if !s.errorsByKind.isEmpty {
            let errors = s.errorsByKind.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
            lines.append("  errors       " + errors.joined(separator: ", "))
        }
        if !s.byCategory.isEmpty {
            lines.append("  categories")
            let maximum = s.byCategory.values.max() ?? 0
            for (name, count) in s.byCategory.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                lines.append("    \(Format.pad(name, 20)) \(Format.right(Format.count(count), 7))  \(Format.bar(count, of: maximum))")
            }
        }
        if let error = run.error {
            lines.append("  stopped      \(error)")
        }
        return lines.joined(separator: "\n")
    }

    /// `model 120 (0.925 right), examples 80 (0.988 right), reused 4`: who gave the answers, with each source's
    /// accuracy where labels were known.
    static func sources(_ sources: [String: RunStatistics.AnswerSource]) -> String {
        let order = ["model", "examples", "reused"]
        return sources.sorted { (order.firstIndex(of: $0.key) ?? 9, $0.key) < (order.firstIndex(of: $1.key) ?? 9, $1.key) }
            .map { name, source in
                "\(name) \(Format.count(source.count))"
                    + (source.accuracy.map { String(format: " (%.3f right)", $0) } ?? "")
            }
            .joined(separator: ", ")
    }

    private static func ms(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.2f s", value / 1000) : String(format: "%.0f ms", value)
    }
}
