import Foundation

// The rules every store obeys, stated once. A store only translates them: to SQL (TriageSQLite) or to BSON
// (TriageMongo); the export writes from the same field list.

extension ResultWrite.Outcome {
    /// The status a query has once this result is written: `classified` with an answer; after a failed attempt
    /// `pending` until its retry, or `failed` for good when there is none.
    public var status: QueryStatus {
        switch self {
        case .classified: .classified
        case .failed(_, retryAt: nil): .failed
        case .failed: .pending
        }
    }
}

extension QueryStatus {
    /// The statuses a person's correction turns into `classified`: the query had no answer, and a person labelled it,
    /// so no run takes it again. A query being classified, or classified already, keeps its status: a run's answer
    /// lands beside the correction, which is never overwritten.
    public static let classifiedByCorrection: [QueryStatus] = [.pending, .failed]

    /// The status a query has after a person's correction.
    public var afterCorrection: QueryStatus {
        Self.classifiedByCorrection.contains(self) ? .classified : self
    }
}

extension Classification {
    /// A classification field's value as a store keeps it.
    public enum StoredValue: Sendable, Hashable {
        case text(String)
        case real(Double)
        case integer(Int)
        case flag(Bool)
        case date(Date)
        case list([String])
        case counts([String: Int])

        public var list: [String]? { if case .list(let value) = self { value } else { nil } }
        public var counts: [String: Int]? { if case .counts(let value) = self { value } else { nil } }
        public var text: String? { if case .text(let value) = self { value } else { nil } }
        public var real: Double? {
            switch self {
            case .real(let value): value
            case .integer(let value): Double(value)
            default: nil
            }
        }
        public var integer: Int? {
            switch self {
            case .integer(let value): value
            case .real(let value): Int(exactly: value)
            default: nil
            }
        }
        public var flag: Bool? {
            switch self {
            case .flag(let value): value
            case .integer(let value): value != 0
            default: nil
            }
        }
        public var date: Date? { if case .date(let value) = self { value } else { nil } }
    }

    /// What kind of value a field holds: how a store types it (a column's affinity, a BSON type).
    public enum StoredKind: Sendable, Hashable {
        case text, real, integer, flag, date
        /// Strings: JSON text in SQLite, an array in MongoDB, joined by "; " in CSV.
        case list
        /// Counts by name: JSON text in SQLite, a subdocument in MongoDB, `NAME n; …` in CSV.
        case counts
    }

    /// One field of a classification as every store and the export keep it: its name in MongoDB documents and in
    /// exports, its SQLite column, its kind, and how it is read from and put into a classification.
    public struct Field: Sendable {
        /// camelCase: the field of the MongoDB `classification` subdocument, and the export's column.
        public let name: String
        /// snake_case: the SQLite column of `queries`.
        public let column: String
        public let kind: StoredKind
        /// Shown by `triage export`.
        public let exported: Bool
        /// The value to store; `nil` stores nothing (NULL, or no field).
        public let value: @Sendable (Classification) -> StoredValue?
        let assign: @Sendable (inout Classification, StoredValue) -> Void

        init(name: String, column: String? = nil, kind: StoredKind, exported: Bool = true,
             value: @escaping @Sendable (Classification) -> StoredValue?,
             assign: @escaping @Sendable (inout Classification, StoredValue) -> Void) {
            self.name = name
            self.column = column ?? Classification.snakeCase(name)
            self.kind = kind
            self.exported = exported
            self.value = value
            self.assign = assign
        }
    }

    /// Every stored field, in the order the export shows them. `category` comes first: a stored classification
    /// is one whose category is there. (Plain closures, not key paths: the list is read for every result written.)
    public static let fields: [Field] = [
        Field(name: "category", kind: .text, value: { .text($0.category) }, assign: { $0.category = $1.text ?? $0.category }),
        Field(name: "priority", kind: .text, value: { .text($0.priority) }, assign: { $0.priority = $1.text ?? $0.priority }),
        Field(name: "sentiment", kind: .text, value: { .text($0.sentiment) },
              assign: { $0.sentiment = $1.text ?? $0.sentiment }),
        Field(name: "language", kind: .text, value: { .text($0.language) }, assign: { $0.language = $1.text ?? $0.language }),
        Field(name: "confidence", kind: .real, value: { .real($0.confidence) },
              assign: { $0.confidence = $1.real ?? $0.confidence }),
        Field(name: "summary", kind: .text, value: { .text($0.summary) }, assign: { $0.summary = $1.text ?? $0.summary }),
        Field(name: "model", kind: .text, value: { .text($0.model) }, assign: { $0.model = $1.text ?? $0.model }),
        Field(name: "taxonomyVersion", kind: .text, value: { .text($0.taxonomyVersion) },
              assign: { $0.taxonomyVersion = $1.text ?? $0.taxonomyVersion }),
        Field(name: "promptTokens", kind: .integer, value: { .integer($0.promptTokens) },
              assign: { $0.promptTokens = $1.integer ?? $0.promptTokens }),
        Field(name: "completionTokens", kind: .integer, value: { .integer($0.completionTokens) },
              assign: { $0.completionTokens = $1.integer ?? $0.completionTokens }),
        Field(name: "cachedPromptTokens", kind: .integer, value: { $0.cachedPromptTokens.map(StoredValue.integer) },
              assign: { $0.cachedPromptTokens = $1.integer }),
        Field(name: "latencyMs", kind: .real, value: { .real($0.latencyMs) },
              assign: { $0.latencyMs = $1.real ?? $0.latencyMs }),
        Field(name: "costUSD", column: "cost_usd", kind: .real, value: { .real($0.costUSD) },
              assign: { $0.costUSD = $1.real ?? $0.costUSD }),
        Field(name: "classifiedAt", kind: .date, value: { .date($0.classifiedAt) },
              assign: { $0.classifiedAt = $1.date ?? $0.classifiedAt }),
        Field(name: "needsReview", kind: .flag, value: { .flag($0.needsReview) },
              assign: { $0.needsReview = $1.flag ?? $0.needsReview }),
        Field(name: "reuseKey", kind: .text, exported: false, value: { $0.reuseKey.map(StoredValue.text) },
              assign: { $0.reuseKey = $1.text }),
        Field(name: "reusedFrom", kind: .text, value: { $0.reusedFrom.map { .text($0.rawValue) } },
              assign: { $0.reusedFrom = $1.text.map(QueryID.init) }),
        Field(name: "answeredBy", kind: .text, value: { $0.answeredBy.map { .text($0.rawValue) } },
              assign: { $0.answeredBy = $1.text.flatMap(AnsweredBy.init(rawValue:)) }),
        Field(name: "fieldProblems", kind: .list, value: { $0.fieldProblems.map(StoredValue.list) },
              assign: { $0.fieldProblems = $1.list }),
        Field(name: "redactions", kind: .counts, value: { $0.redactions.map(StoredValue.counts) },
              assign: { $0.redactions = $1.counts }),
    ]

    /// A classification read back from a store: `stored` gives each field's value (by its index in ``fields``), or
    /// `nil` when the store has none. `nil` when there is no category (the query has no answer); a missing field
    /// keeps its empty value.
    public init?(stored: (_ index: Int, _ field: Field) -> StoredValue?) {
        guard let category = stored(0, Self.fields[0])?.text else { return nil }
        self.init(category: category, priority: "", sentiment: "", language: "", confidence: 0, summary: "", model: "",
                  taxonomyVersion: "", classifiedAt: Date(timeIntervalSince1970: 0))
        for (index, field) in Self.fields.enumerated().dropFirst() {
            if let value = stored(index, field) { field.assign(&self, value) }
        }
    }

    /// The fields' values to store, by field, in ``fields``' order (a `nil` stores nothing).
    public var storedValues: [(field: Field, value: StoredValue?)] {
        Self.fields.map { ($0, $0.value(self)) }
    }

    /// `taxonomyVersion` → `taxonomy_version`.
    static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { column, character in
            if character.isUppercase { column += "_" + character.lowercased() } else { column.append(character) }
        }
    }
}
