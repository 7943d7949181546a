import Crypto
import Foundation

/// The labels a classification may use, each with a one-line description the prompt shows the model.
public struct Taxonomy: Sendable, Hashable, Codable {
    /// One allowed value of a field.
    public struct Label: Sendable, Hashable, Codable {
        /// The value stored and returned, such as `billing`.
        public var name: String
        /// What the label means, in one line.
        public var description: String

        public init(_ name: String, _ description: String) {
            self.name = name
            self.description = description
        }
    }

    /// A field of the answer the model is asked for.
    public enum Field: String, Sendable, Hashable, Codable, CaseIterable {
        case category, priority, sentiment, language, confidence, summary
    }

    public var name: String
    public var categories: [Label]
    public var priorities: [Label]
    public var sentiments: [Label]
    /// The fields to ask the model for (always including `category`); all of them when absent. Asking for fewer
    /// shortens the prompt and the answer, and small models classify better; fields not asked for are left empty.
    public var fields: [Field]?
    /// The fields an answer cannot do without: a wrong or missing one asks the model to repair its answer. Only
    /// `category` when absent; any other asked field that is wrong is normalised or dropped, never costing the answer.
    public var required: [Field]?
    /// Labelled examples that come with the taxonomy; added to the pool retrieval draws from.
    public var examples: [LabelledExample]?

    public init(name: String, categories: [Label], priorities: [Label], sentiments: [Label]) {
        self.name = name
        self.categories = categories
        self.priorities = priorities
        self.sentiments = sentiments
    }

    /// A short hash of the taxonomy's content: two taxonomies with the same labels and descriptions share it.
    public var version: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        let digest = SHA256.hash(data: data)
        return digest.prefix(6).hexDigits
    }

    /// The fields the model is asked for, in answer order.
    public var askedFields: [Field] {
        guard let fields else { return Field.allCases }
        return Field.allCases.filter { fields.contains($0) }
    }

    public func asks(_ field: Field) -> Bool { askedFields.contains(field) }

    /// The fields an answer must have right (``required``, `category` always among them).
    public var requiredFields: [Field] {
        [.category] + (required ?? []).filter { $0 != .category && asks($0) }
    }

    public var categoryNames: [String] { categories.map(\.name) }
    public var priorityNames: [String] { priorities.map(\.name) }
    public var sentimentNames: [String] { sentiments.map(\.name) }

    /// Checks that every list is non-empty and that names are unique, lower-case identifiers.
    /// - Throws: ``TaxonomyError`` naming the list and label at fault.
    public func validate() throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw TaxonomyError("the taxonomy needs a non-empty 'name'")
        }
        if let fields, !fields.contains(.category) {
            throw TaxonomyError("'fields' must include category")
        }
        for field in required ?? [] where !asks(field) {
            throw TaxonomyError("'required' names \(field.rawValue), which 'fields' does not ask for")
        }
        for field in required ?? [] where field == .language || field == .confidence {
            throw TaxonomyError("'required' cannot name \(field.rawValue): Triage finds it, the model is not asked")
        }
        for (field, labels) in [("categories", categories), ("priorities", priorities), ("sentiments", sentiments)] {
            guard !labels.isEmpty else { throw TaxonomyError("'\(field)' must list at least one label") }
            var seen = Set<String>()
            for (index, label) in labels.enumerated() {
                guard label.name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil else {
                    throw TaxonomyError(
                        "\(field)[\(index)].name '\(label.name)' must be lower-case letters, digits and underscores"
                    )
                }
                guard seen.insert(label.name).inserted else {
                    throw TaxonomyError("\(field)[\(index)].name '\(label.name)' appears twice")
                }
                guard !label.description.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw TaxonomyError("\(field)[\(index)] ('\(label.name)') needs a description")
                }
            }
        }
        for (index, example) in (examples ?? []).enumerated() {
            guard SupportQuery(text: example.text).hasText else {
                throw TaxonomyError("examples[\(index)].text must not be empty")
            }
            do {
                try check(category: example.category, priority: example.priority, sentiment: example.sentiment,
                          fieldPrefix: "examples[\(index)].")
            } catch {
                throw TaxonomyError(error.description)
            }
        }
    }
}

/// A taxonomy file that could not be read or is not valid.
public struct TaxonomyError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
