import Foundation
import TriageCore

/// A model's answer that passed validation.
struct ValidatedAnswer: Sendable, Hashable {
    var category: String
    var priority: String
    var sentiment: String
    var language: String
    var confidence: Double
    var summary: String
}

/// Checks a model's answer against the taxonomy: labels in it, confidence in range, every field present.
struct AnswerValidator: Sendable {
    let taxonomy: Taxonomy

    /// Validates `content`, the model's text (or a tool call's input, serialised).
    /// - Throws: `ValidationProblems` listing everything wrong, for the repair request to quote.
    func validate(_ content: String) throws -> ValidatedAnswer {
        guard let object = Self.extractObject(from: content) else {
            throw ValidationProblems(["the answer is not a JSON object"])
        }
        var problems: [String] = []
        func label(_ field: String, _ allowed: [String]) -> String {
            guard taxonomy.asks(Taxonomy.Field(rawValue: field)!) else { return "" }
            guard let raw = object[field]?.stringValue else {
                problems.append(object[field] == nil ? "'\(field)' is missing" : "'\(field)' must be a string")
                return ""
            }
            // Spaces and hyphens are single bytes in UTF-8, never part of another character's bytes.
            let normalized = String(decoding: raw.trimmingWhitespace.lowercased().utf8.map {
                $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0
            }, as: UTF8.self)
            guard allowed.contains(normalized) else {
                problems.append("\(field) '\(raw)' is not one of \(allowed.joined(separator: ", "))")
                return ""
            }
            return normalized
        }
        let category = label("category", taxonomy.categoryNames)
        let priority = label("priority", taxonomy.priorityNames)
        let sentiment = label("sentiment", taxonomy.sentimentNames)

        var language = ""
        if !taxonomy.asks(.language) {
            // Not asked for.
        } else if let raw = object["language"]?.stringValue?.trimmingWhitespace.lowercased(), Self.isLanguageCode(raw) {
            language = raw
        } else {
            problems.append("'language' must be an ISO 639-1 code such as \"en\"")
        }

        var confidence = 0.0
        if !taxonomy.asks(.confidence) {
            // Not asked for: the examples' agreement, where there are examples, is the confidence.
        } else if let value = object["confidence"]?.doubleValue, (0...1).contains(value) {
            confidence = value
        } else {
            let shown = object["confidence"].map { "\($0)" } ?? "missing"
            problems.append("'confidence' must be a number from 0 to 1 (got \(shown))")
        }

        var summary = object["summary"]?.stringValue?.trimmingWhitespace ?? ""
        if summary.isEmpty && taxonomy.asks(.summary) { problems.append("'summary' must be a non-empty string") }
        if summary.utf8.count > 200, summary.count > 200 { summary = String(summary.prefix(199)) + "…" }

        guard problems.isEmpty else { throw ValidationProblems(problems) }
        return ValidatedAnswer(category: category, priority: priority, sentiment: sentiment, language: language,
                               confidence: confidence, summary: summary)
    }

    /// Whether `code` reads as an ISO 639 code, with a region or script if any: `[a-z]{2,3}(-[a-z0-9]{2,4})?`.
    static func isLanguageCode(_ code: String) -> Bool {
        let parts = code.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        let letter = { (byte: UInt8) in (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
        let digit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        guard (2...3).contains(parts[0].count), parts[0].allSatisfy(letter) else { return false }
        return parts.count == 1
            || parts.count == 2 && (2...4).contains(parts[1].count) && parts[1].allSatisfy { letter($0) || digit($0) }
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
