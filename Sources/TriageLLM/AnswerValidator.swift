import Foundation
import TriageCore

/// A model's answer that passed validation: the category, and each other field as it could be read.
struct ValidatedAnswer: Sendable, Hashable {
    var category: String
    var priority: String
    var sentiment: String
    /// The model's own confidence, when it was asked and gave a usable one.
    var confidence: Double?
    var summary: String
    /// What was wrong with a field that is not required, and what was done about it (normalised or dropped).
    var fieldProblems: [String]
}

/// Checks a model's answer against the taxonomy, field by field. Only what the answer cannot do without — a
/// category in the taxonomy (or one of `candidates`), and the fields the taxonomy requires — makes it invalid and
/// asks for a repair; any other field that is wrong is normalised where the reading is certain (`"High"` → `high`,
/// a confidence of `85` → `0.85`) or dropped, and recorded in ``ValidatedAnswer/fieldProblems``. An answer is never
/// lost to a side field.
struct AnswerValidator: Sendable {
    let taxonomy: Taxonomy
    // Read for every answer: worked out once.
    private let required: Set<Taxonomy.Field>
    private let categories: [String]
    private let priorities: [String]
    private let sentiments: [String]

    init(taxonomy: Taxonomy) {
        self.taxonomy = taxonomy
        required = Set(taxonomy.requiredFields)
        categories = taxonomy.categoryNames
        priorities = taxonomy.priorityNames
        sentiments = taxonomy.sentimentNames
    }

    /// Validates `content`, the model's text (or a tool call's input, serialised).
    /// - Parameters:
    ///   - candidates: The categories the model was offered (all of the taxonomy's when `nil`); an answer outside
    ///     them is still accepted if it is in the taxonomy.
    ///   - asksConfidence: Whether the model was asked for its confidence.
    /// - Throws: `ValidationProblems` listing what makes the answer unusable, for the repair request to quote.
    func validate(_ content: String, asksConfidence: Bool = false) throws -> ValidatedAnswer {
        guard let object = Self.extractObject(from: content) else {
            throw ValidationProblems(["the answer is not a JSON object"])
        }
        var problems: [String] = []
        var fieldProblems: [String] = []
        /// A label field: normalised to the taxonomy's spelling; if it cannot be, a problem (required) or dropped.
        func label(_ field: Taxonomy.Field, _ allowed: [String]) -> String {
            guard taxonomy.asks(field) else { return "" }
            let name = field.rawValue
            let raw = object[name]?.stringValue
            if let raw, let normalized = Self.normalizedLabel(raw, allowed: allowed) { return normalized }
            let problem = raw.map { "\(name) '\($0)' is not one of \(allowed.joined(separator: ", "))" }
                ?? (object[name] == nil ? "'\(name)' is missing" : "'\(name)' must be a string")
            if required.contains(field) { problems.append(problem) } else { fieldProblems.append(problem + "; dropped") }
            return ""
        }
        let category = label(.category, categories)
        let priority = label(.priority, priorities)
        let sentiment = label(.sentiment, sentiments)

        var confidence: Double?
        if asksConfidence {
            switch Self.confidence(object["confidence"]) {
            case .read(let value):
                confidence = value
            case .normalized(let value, let from):
                confidence = value
                fieldProblems.append("confidence \(from) read as \(value)")
            case .unreadable(let shown):
                fieldProblems.append("confidence \(shown) is not a number from 0 to 1; dropped")
            }
        }

        var summary = object["summary"]?.stringValue?.trimmingWhitespace ?? ""
        if summary.isEmpty && taxonomy.asks(.summary) {
            let problem = "'summary' must be a non-empty string"
            if required.contains(.summary) { problems.append(problem) } else { fieldProblems.append(problem + "; dropped") }
        }
        if summary.utf8.count > 200, summary.count > 200 { summary = String(summary.prefix(199)) + "…" }

        guard problems.isEmpty else { throw ValidationProblems(problems) }
        return ValidatedAnswer(category: category, priority: priority, sentiment: sentiment, confidence: confidence,
                               summary: summary, fieldProblems: fieldProblems)
    }

    /// `raw` as one of `allowed`, read leniently where the reading is certain: case, spaces and hyphens
    /// (`"Orders Shipping"` → `orders_shipping`), and surrounding quotes or punctuation.
    static func normalizedLabel(_ raw: String, allowed: [String]) -> String? {
        // Spaces and hyphens are single bytes in UTF-8, never part of another character's bytes.
        let normalized = String(decoding: raw.trimmingWhitespace.lowercased().utf8.map {
            $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0
        }, as: UTF8.self)
        if allowed.contains(normalized) { return normalized }
        let stripped = normalized.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`.,;:!_ "))
        return allowed.contains(stripped) ? stripped : nil
    }

    /// How a confidence was read.
    enum ConfidenceReading: Equatable {
        case read(Double)
        /// Certain, but not as given: a percentage (`85` → `0.85`), or a number written as a string.
        case normalized(Double, from: String)
        case unreadable(String)
    }

    static func confidence(_ value: JSONValue?) -> ConfidenceReading {
        guard let value else { return .unreadable("missing") }
        var number = value.doubleValue
        var normalized = false
        if number == nil, let text = value.stringValue?.trimmingWhitespace {
            let percent = text.hasSuffix("%")
            number = Double(percent ? String(text.dropLast()).trimmingWhitespace : text).map { percent ? $0 / 100 : $0 }
            normalized = number != nil
        }
        guard let number, number.isFinite, number >= 0 else { return .unreadable("\(value)") }
        if number <= 1 { return normalized ? .normalized(number, from: "\(value)") : .read(number) }
        // Above 1 and at most 100: a percentage, the only certain reading.
        guard number <= 100 else { return .unreadable("\(value)") }
        return .normalized((number / 100 * 1000).rounded() / 1000, from: "\(value)")
    }

    /// The JSON object in `content`: the whole text, or inside a Markdown fence, or from the first `{` to the last `}`.
    static func extractObject(from content: String) -> JSONValue? {
        let trimmed = content.trimmingWhitespace
        var candidates = [trimmed]
        if let start = trimmed.firstIndex(of: "{"), let end = trimmed.lastIndex(of: "}"), start < end {
            candidates.append(String(trimmed[start...end]))
        }
        for candidate in candidates {
            if let value = try? JSONValue.decode(Data(candidate.utf8)), case .object = value { return value }
        }
        return nil
    }
}

/// Why an answer failed validation.
struct ValidationProblems: Error, CustomStringConvertible {
    let problems: [String]

    init(_ problems: [String]) {
        self.problems = problems
    }

    var description: String { problems.joined(separator: "; ") }
}
