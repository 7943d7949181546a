import TriageCore
import TriageLLM

/// What a person needs to read about labels: expected labels that cannot match, and when the examples answer alone.
enum LabelReport {
    /// `12 of 40 expected categories (refund, card_lost, …) are no category of the taxonomy in use: …`
    static func mismatch(unknown: Int, of scored: Int, names: [String] = []) -> String {
        let shown = names.isEmpty ? "" : " (" + names.prefix(5).joined(separator: ", ")
            + (names.count > 5 ? ", …" : "") + ")"
        return "warning: \(Format.count(unknown)) of \(Format.count(scored)) expected categories\(shown) are no "
            + "category of the taxonomy in use, so no answer can match them: pass the taxonomy the labels come from "
            + "(--taxonomy FILE, TRIAGE_TAXONOMY or the config file's taxonomy)"
    }

    /// `threshold 0.62, chosen by leave-one-out over 990 examples: 48% of them answered, 0.981 right`.
    static func decision(_ decision: ExamplesDecision) -> String {
        guard let threshold = decision.threshold else {
            return "never" + (decision.note.map { " (\($0))" } ?? "")
        }
        let how = decision.mode == "auto"
            ? String(format: ", chosen by leave-one-out over %@ examples: %.0f%% of them answered, %.3f right",
                     Format.count(decision.measured), decision.coverage * 100, decision.accuracy)
            : " (--answer-from-examples)"
        return String(format: "decisiveness ≥ %.3f", threshold) + how
    }
}
