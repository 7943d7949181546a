import Foundation
import TriageCore

/// The formats `triage import` reads and `triage export` writes.
public enum QueryFileFormat: String, Sendable, CaseIterable {
    /// One JSON array of objects.
    case json
    /// One JSON object per line (also called NDJSON).
    case jsonl
    /// Comma-separated values with a header row that has a `text` column.
    case csv

    /// The format a file's extension names (`.json`, `.jsonl` or `.ndjson`, `.csv`), or `nil`.
    public init?(extensionOf path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "json": self = .json
        case "jsonl", "ndjson": self = .jsonl
        case "csv": self = .csv
        default: return nil
        }
    }

    /// The format a file's extension names, or a guess from its first character.
    public static func detect(path: String, data: Data) -> QueryFileFormat {
        if let format = QueryFileFormat(extensionOf: path) { return format }
        switch data.first(where: { !Character(UnicodeScalar($0)).isWhitespace }) {
        case UInt8(ascii: "["): return .json
        case UInt8(ascii: "{"): return .jsonl
        default: return .csv
        }
    }
}

/// Reads support queries from JSON, JSONL and CSV files, all or nothing: the first problem found is thrown as an
/// ``ImportError`` naming the file, the line or record, and the field.
///
/// Known fields: `text` (required), `subject`, `channel`, `customerId`, `externalId`, `createdAt` (ISO 8601 or Unix
/// seconds), `metadata` (an object of scalars), expected labels (`expected: {category, priority, sentiment}`, or flat
/// `expectedCategory`…); `snake_case` spellings are accepted too. With a taxonomy, expected labels must be among its
/// names. Any other scalar field is
/// kept as metadata. Fields that Triage itself writes on export (`status`, `category`, …) are ignored, so an export
/// can be imported again. A record without `externalId` gets one derived from its content.
public enum QueryFileReader {
    /// Reads a file.
    public static func read(path: String, format: QueryFileFormat? = nil,
                            taxonomy: Taxonomy? = nil) throws -> [SupportQuery] {
        try RecordFile.read(path: path, format: format, what: "queries") { value, file, location in
            try query(from: value, file: file, location: location, taxonomy: taxonomy)
        }
    }

    /// A file's queries, `size` at a time, for ``QueryStore/insert(chunks:)``: JSON Lines files stream (memory
    /// holds one chunk, whatever the file's size); JSON arrays and CSV are read whole, then handed over in chunks.
    /// Each run of the result reads the file again from the start.
    public static func chunks(path: String, format: QueryFileFormat? = nil, taxonomy: Taxonomy? = nil,
                              size: Int = 5_000) -> QueryChunks {
        { deliver in
            var chunk: [SupportQuery] = []
            chunk.reserveCapacity(size)
            func add(_ query: SupportQuery) throws {
                chunk.append(query)
                if chunk.count == size {
                    try deliver(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            let streams = (format ?? QueryFileFormat(extensionOf: path)) == .jsonl
            if streams {
                let records = try RecordFile.streamJSONLines(path: path) { value, location in
                    try add(try query(from: value, file: path, location: location, taxonomy: taxonomy))
                }
                guard records > 0 else { throw ImportError(file: path, message: "no queries found") }
            } else {
                for query in try read(path: path, format: format, taxonomy: taxonomy) { try add(query) }
            }
            if !chunk.isEmpty { try deliver(chunk) }
        }
    }

    /// Parses file contents.
    public static func parse(_ data: Data, format: QueryFileFormat, file: String,
                             taxonomy: Taxonomy? = nil) throws -> [SupportQuery] {
        try RecordFile.parse(data, format: format, file: file, what: "queries") { value, file, location in
            try query(from: value, file: file, location: location, taxonomy: taxonomy)
        }
    }

    /// Fields Triage writes on export; ignored on import so that an export can be imported again.
    static let managedFields: Set<String> = [
        "id", "_id", "status", "attempts", "nextAttemptAt", "lease", "lastError", "lastErrorKind", "lastErrorAt",
        "classification", "category", "priority", "sentiment", "language", "confidence", "summary", "model",
        "taxonomyVersion", "promptTokens", "completionTokens", "latencyMs", "costUSD", "classifiedAt", "updatedAt",
        "needsReview", "correction", "correctedCategory", "correctedPriority", "correctedSentiment", "correctedBy",
        "correctedAt", "correctionNote", "reusedFrom",
    ]

    /// The spellings of the expected labels: inside `expected`, or flat.
    static let expectedFields: [(name: String, flat: [String])] = [
        ("category", ["expectedCategory", "expected_category"]),
        ("priority", ["expectedPriority", "expected_priority"]),
        ("sentiment", ["expectedSentiment", "expected_sentiment"]),
    ]

    private static func query(from value: JSONValue, file: String, location: String,
                              taxonomy: Taxonomy?) throws -> SupportQuery {
        let fields = try RecordFields(value, file: file, location: location)
        let object = fields.object
        guard object["text"] != nil else { throw fields.fail("text", "is missing") }
        var query = SupportQuery(
            text: try fields.string("text") ?? "",
            subject: try fields.string("subject"),
            channel: try fields.string("channel"),
            customerId: try fields.string("customerId", "customer_id", allowNumber: true),
            externalId: try fields.string("externalId", "external_id", allowNumber: true)
        )
        for name in ["createdAt", "created_at"] {
            guard let value = object[name] else { continue }
            query.createdAt = try date(value) ?? { throw fields.fail(name, "expected an ISO 8601 date or Unix seconds, found \(value.scalarText.map { "'\($0)'" } ?? value.typeName)") }()
        }
        if let metadata = object["metadata"] {
            guard case .object(let entries) = metadata else {
                throw fields.fail("metadata", "expected an object, found \(metadata.typeName)")
            }
            for (key, entry) in entries {
                guard let text = entry.scalarText else {
                    if entry == .null { continue }
                    throw fields.fail("metadata.\(key)", "expected a string, number or boolean, found \(entry.typeName)")
                }
                query.metadata[key] = text
            }
        }
        query.expected = try expected(in: fields, taxonomy: taxonomy)
        let known = Set(["text", "subject", "channel", "customerId", "customer_id", "externalId",
                         "external_id", "createdAt", "created_at", "metadata", "expected"]
                        + expectedFields.flatMap(\.flat))
        for (key, entry) in object where !known.contains(key) && !managedFields.contains(key) {
            guard let text = entry.scalarText else {
                if entry == .null { continue }
                throw fields.fail(key, "unsupported value type \(entry.typeName); extra fields must be strings, numbers or booleans")
            }
            query.metadata[key] = text
        }
        do {
            query = try query.validated()
        } catch {
            throw fields.fail(error.field, error.reason)
        }
        if query.externalId?.isEmpty ?? true {
            query.externalId = query.contentFingerprint
        }
        return query
    }

    private static func expected(in fields: RecordFields, taxonomy: Taxonomy?) throws -> ExpectedLabels? {
        var nested: RecordFields?
        if let value = fields.object["expected"], value != .null {
            guard case .object = value else {
                throw fields.fail("expected", "expected an object with category, priority, sentiment; found \(value.typeName)")
            }
            nested = try RecordFields(value, file: fields.file, location: fields.location)
        }
        func label(_ index: Int, allowed: [String]?) throws -> String? {
            let (name, flat) = expectedFields[index]
            do {
                if let nested, let value = try nested.label([name], allowed: allowed) { return value }
            } catch let error as ImportError {
                throw fields.fail("expected.\(name)", error.message)
            }
            return try fields.label(flat, allowed: allowed)
        }
        let labels = ExpectedLabels(category: try label(0, allowed: taxonomy?.categoryNames),
                                    priority: try label(1, allowed: taxonomy?.priorityNames),
                                    sentiment: try label(2, allowed: taxonomy?.sentimentNames))
        return labels.isEmpty ? nil : labels
    }

    private static func date(_ value: JSONValue) throws -> Date? {
        switch value {
        case .integer(let seconds): return Date(timeIntervalSince1970: Double(seconds) > 1e11 ? Double(seconds) / 1000 : Double(seconds))
        case .number(let seconds): return Date(timeIntervalSince1970: seconds > 1e11 ? seconds / 1000 : seconds)
        case .string(let text):
            if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
            return parseISO8601(text)
        default: return nil
        }
    }

    /// Parses `2024-05-01T10:00:00Z`, with or without fractional seconds, or a bare `2024-05-01`.
    public static func parseISO8601(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return date }
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        return dateOnly.date(from: text)
    }
}
