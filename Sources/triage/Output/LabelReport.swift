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
    /// With the model measured: `…; the model labelled 9 of 20 examples right (21 requests): held to 0.642`.
    static func decision(_ decision: ExamplesDecision) -> String {
        let model = decision.model.map { model in
            "; the model labelled \(model.correct) of \(model.measured) examples right "
                + "(\(Format.count(model.requests)) requests): held to " + String(format: "%.3f", model.target)
        } ?? ""
        guard let threshold = decision.threshold else {
            return "never" + (decision.note.map { " (\($0))" } ?? "") + model
        }
        let how = decision.mode == "auto"
            ? String(format: ", chosen by leave-one-out over %@ examples: %.0f%% of them answered, %.3f right",
                     Format.count(decision.measured), decision.coverage * 100, decision.accuracy)
            : " (--answer-from-examples)"
        return String(format: "decisiveness ≥ %.3f", threshold) + how + model
    }
}
