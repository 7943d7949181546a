import Foundation

/// The labels a query is known to deserve, imported with it: what evaluation and run statistics score the model's
/// answer against, and what `--examples store` shows the model as worked examples. Never sent to the LLM as this
/// query's answer.
public struct ExpectedLabels: Sendable, Hashable, Codable {
    public var category: String?
    public var priority: String?
    public var sentiment: String?

    public init(category: String? = nil, priority: String? = nil, sentiment: String? = nil) {
        self.category = category
        self.priority = priority
        self.sentiment = sentiment
    }

    /// Whether no label is set; stores keep `nil` rather than an empty value.
    public var isEmpty: Bool { category == nil && priority == nil && sentiment == nil }
}

/// A person's correction of a classification, kept beside the model's answer: a later run never overwrites it.
public struct Correction: Sendable, Hashable, Codable {
    public var category: String
    public var priority: String?
    public var sentiment: String?
    public var note: String?
    /// Who made it: a name given with the correction, or where it came from (`cli`, `api`).
    public var by: String
    public var at: Date

    public init(category: String, priority: String? = nil, sentiment: String? = nil, note: String? = nil,
                by: String, at: Date = Date()) {
        self.category = category
        self.priority = priority
        self.sentiment = sentiment
        self.note = note
        self.by = by
        self.at = at
    }
}

extension QueryRecord {
    /// The labels this query should have, as far as anyone knows: a person's correction first, then the labels it
    /// was imported with. `nil` when neither gives a category.
    public var knownLabels: LabelledExample? {
        if let correction {
            return LabelledExample(text: query.text, category: correction.category,
                                   priority: correction.priority ?? query.expected?.priority,
                                   sentiment: correction.sentiment ?? query.expected?.sentiment)
        }
        guard let expected = query.expected, let category = expected.category else { return nil }
        return LabelledExample(text: query.text, category: category, priority: expected.priority,
                               sentiment: expected.sentiment)
    }
}

extension Correction {
    /// The correction, checked against the labels a taxonomy allows: what `triage label` and
    /// `PATCH /v1/queries/{id}` accept.
    /// - Throws: ``InvalidLabel`` naming the first field whose value the taxonomy does not have.
    public func validated(against taxonomy: Taxonomy) throws(InvalidLabel) -> Correction {
        try taxonomy.check(category: category, priority: priority, sentiment: sentiment)
        return self
    }
}

extension ExpectedLabels {
    /// The labels, checked against a taxonomy's names.
    /// - Throws: ``InvalidLabel`` naming the first field (as `expected.category`…) the taxonomy does not have.
    public func validated(against taxonomy: Taxonomy) throws(InvalidLabel) -> ExpectedLabels {
        try taxonomy.check(category: category, priority: priority, sentiment: sentiment, fieldPrefix: "expected.")
        return self
    }
}

extension Taxonomy {
    /// Checks that each label given is one of this taxonomy's names for its field: the one rule corrections, expected
    /// labels in requests and a taxonomy's own examples meet.
    /// - Throws: ``InvalidLabel`` naming the first field at fault.
    public func check(category: String?, priority: String?, sentiment: String?,
                      fieldPrefix: String = "") throws(InvalidLabel) {
        for (field, value, names) in [("category", category, categoryNames), ("priority", priority, priorityNames),
                                      ("sentiment", sentiment, sentimentNames)] {
            if let value, !names.contains(value) {
                throw InvalidLabel(field: fieldPrefix + field, value: value, allowed: names)
            }
        }
    }
}

/// A label that is not among the taxonomy's names.
public struct InvalidLabel: Error, Sendable, CustomStringConvertible {
    public let field: String
    public let value: String
    public let allowed: [String]

    public var description: String {
        "field '\(field)': '\(value)' is not in the taxonomy (\(allowed.joined(separator: ", ")))"
    }
}
