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
    }

    /// Every stored field, in the order the export shows them. `category` comes first: a stored classification
    /// is one whose category is there.
    public static let fields: [Field] = [
        text("category", \.category),
        text("priority", \.priority),
        text("sentiment", \.sentiment),
        text("language", \.language),
        field("confidence", .real, \.confidence, StoredValue.real, \.real),
        text("summary", \.summary),
        text("model", \.model),
        text("taxonomyVersion", \.taxonomyVersion),
        field("promptTokens", .integer, \.promptTokens, StoredValue.integer, \.integer),
        field("completionTokens", .integer, \.completionTokens, StoredValue.integer, \.integer),
        optional("cachedPromptTokens", .integer, \.cachedPromptTokens, StoredValue.integer, \.integer),
        field("latencyMs", .real, \.latencyMs, StoredValue.real, \.real),
        field("costUSD", .real, \.costUSD, StoredValue.real, \.real, column: "cost_usd"),
        field("classifiedAt", .date, \.classifiedAt, StoredValue.date, \.date),
        field("needsReview", .flag, \.needsReview, StoredValue.flag, \.flag),
        optional("reuseKey", .text, \.reuseKey, StoredValue.text, \.text, exported: false),
        optional("reusedFrom", .text, \.reusedFrom?.rawValue, { .text($0) }, \.text,
                 set: { $0.reusedFrom = QueryID($1) }),
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

    private static func text(_ name: String, _ path: WritableKeyPath<Classification, String>) -> Field {
        field(name, .text, path, StoredValue.text, \.text)
    }

    private static func field<Value>(
        _ name: String, _ kind: StoredKind, _ path: WritableKeyPath<Classification, Value>,
        _ wrap: @escaping @Sendable (Value) -> StoredValue, _ unwrap: KeyPath<StoredValue, Value?>,
        column: String? = nil
    ) -> Field {
        nonisolated(unsafe) let (path, unwrap) = (path, unwrap)  // key paths are immutable
        return Field(name: name, column: column ?? snakeCase(name), kind: kind, exported: true,
              value: { wrap($0[keyPath: path]) },
              assign: { classification, stored in
                  if let value = stored[keyPath: unwrap] { classification[keyPath: path] = value }
              })
    }

    private static func optional<Value>(
        _ name: String, _ kind: StoredKind, _ read: KeyPath<Classification, Value?>,
        _ wrap: @escaping @Sendable (Value) -> StoredValue, _ unwrap: KeyPath<StoredValue, Value?>,
        exported: Bool = true, set: (@Sendable (inout Classification, Value) -> Void)? = nil
    ) -> Field {
        nonisolated(unsafe) let (read, unwrap) = (read, unwrap)  // key paths are immutable
        let assign: @Sendable (inout Classification, Value) -> Void = set ?? { classification, value in
            if let path = read as? WritableKeyPath<Classification, Value?> { classification[keyPath: path] = value }
        }
        return Field(name: name, column: snakeCase(name), kind: kind, exported: exported,
                     value: { $0[keyPath: read].map(wrap) },
                     assign: { classification, stored in
                         if let value = stored[keyPath: unwrap] { assign(&classification, value) }
                     })
    }

    /// `taxonomyVersion` → `taxonomy_version`.
    static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { column, character in
            if character.isUppercase { column += "_" + character.lowercased() } else { column.append(character) }
        }
    }
}
