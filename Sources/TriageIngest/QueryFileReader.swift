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
/// seconds), `metadata` (an object of scalars); `snake_case` spellings are accepted too. Any other scalar field is
/// kept as metadata. Fields that Triage itself writes on export (`status`, `category`, …) are ignored, so an export
/// can be imported again. A record without `externalId` gets one derived from its content.
public enum QueryFileReader {
    /// Reads a file.
    public static func read(path: String, format: QueryFileFormat? = nil) throws -> [SupportQuery] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ImportError(file: path, message: "the file \(reason)")
        }
        return try parse(data, format: format ?? .detect(path: path, data: data), file: path)
    }

    /// Parses file contents.
    public static func parse(_ data: Data, format: QueryFileFormat, file: String) throws -> [SupportQuery] {
        if let offset = JSONSyntax.firstInvalidUTF8(in: data) {
            throw ImportError(file: file, location: JSONSyntax.position(of: offset, in: data),
                              message: "not UTF-8 text")
        }
        let queries: [SupportQuery]
        switch format {
        case .json: queries = try parseJSONArray(data, file: file)
        case .jsonl: queries = try parseJSONLines(data, file: file)
        case .csv: queries = try parseCSV(data, file: file)
        }
        guard !queries.isEmpty else { throw ImportError(file: file, message: "no queries found") }
        return queries
    }

    private static func parseJSONArray(_ data: Data, file: String) throws -> [SupportQuery] {
        let values: [JSONValue]
        do {
            values = try JSONDecoder().decode([JSONValue].self, from: data)
        } catch let error as DecodingError {
            if case .typeMismatch = error {
                let start = data.firstIndex { !Character(UnicodeScalar($0)).isWhitespace } ?? data.startIndex
                throw ImportError(file: file, location: JSONSyntax.position(of: start - data.startIndex, in: data),
                                  message: "expected a JSON array of objects at the top level")
            }
            let problem = JSONSyntax.problem(in: data)
            let location = problem.offset.map { JSONSyntax.position(of: $0, in: data) } ?? "line 1"
            throw ImportError(file: file, location: location,
                              message: "malformed JSON: \(problem.reason)")
        }
        return try values.enumerated().map { index, value in
            try query(from: value, file: file, location: "record \(index + 1)")
        }
    }

    private static func parseJSONLines(_ data: Data, file: String) throws -> [SupportQuery] {
        var queries: [SupportQuery] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let location = "line \(index + 1)"
            guard line.contains(where: { !Character(UnicodeScalar($0)).isWhitespace }) else { continue }
            let value: JSONValue
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(line))
            } catch {
                let problem = JSONSyntax.problem(in: Data(line))
                let column = problem.offset.map { " at column \($0 + 1)" } ?? ""
                throw ImportError(file: file, location: location, message: "malformed JSON: \(problem.reason)\(column)")
            }
            queries.append(try query(from: value, file: file, location: location))
        }
        return queries
    }

    private static func parseCSV(_ data: Data, file: String) throws -> [SupportQuery] {
        guard var text = String(data: data, encoding: .utf8) else {
            throw ImportError(file: file, location: "line 1", message: "not UTF-8 text")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let rows = try CSVParser.parse(text, file: file)
        guard let header = rows.first else { return [] }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard columns.contains("text") else {
            throw ImportError(file: file, location: "line 1", message: "the header row has no 'text' column")
        }
        return try rows.dropFirst().compactMap { row in
            if row.fields.count == 1 && row.fields[0].isEmpty { return nil }
            let location = "line \(row.line)"
            guard row.fields.count == columns.count else {
                throw ImportError(file: file, location: location,
                                  message: "has \(row.fields.count) fields; the header has \(columns.count)")
            }
            var object: [String: JSONValue] = [:]
            for (column, value) in zip(columns, row.fields) where !value.isEmpty {
                object[column] = .string(value)
            }
            return try query(from: .object(object), file: file, location: location)
        }
    }

    /// Fields Triage writes on export; ignored on import so that an export can be imported again.
    static let managedFields: Set<String> = [
        "id", "_id", "status", "attempts", "nextAttemptAt", "lease", "lastError", "lastErrorKind", "lastErrorAt",
        "classification", "category", "priority", "sentiment", "language", "confidence", "summary", "model",
        "taxonomyVersion", "promptTokens", "completionTokens", "latencyMs", "costUSD", "classifiedAt", "updatedAt",
    ]

    private static func query(from value: JSONValue, file: String, location: String) throws -> SupportQuery {
        guard case .object(let object) = value else {
            throw ImportError(file: file, location: location, message: "expected a JSON object, found \(value.typeName)")
        }
        func fail(_ field: String, _ message: String) -> ImportError {
            ImportError(file: file, location: location, field: field, message: message)
        }
        func string(_ names: String..., allowNumber: Bool = false) throws -> String? {
            for name in names {
                guard let value = object[name] else { continue }
                switch value {
                case .null: return nil
                case .string(let text): return text
                case .integer(let number) where allowNumber: return String(number)
                default: throw fail(name, "expected a string, found \(value.typeName)")
                }
            }
            return nil
        }

        guard object["text"] != nil else { throw fail("text", "is missing") }
        var query: SupportQuery
        do {
            query = try SupportQuery(
                text: try string("text") ?? "",
                subject: try string("subject"),
                channel: try string("channel"),
                customerId: try string("customerId", "customer_id", allowNumber: true),
                externalId: try string("externalId", "external_id", allowNumber: true)
            ).validated()
        } catch is SupportQuery.EmptyText {
            throw fail("text", "must not be empty")
        }
        for name in ["createdAt", "created_at"] {
            guard let value = object[name] else { continue }
            query.createdAt = try date(value) ?? { throw fail(name, "expected an ISO 8601 date or Unix seconds, found \(value.scalarText.map { "'\($0)'" } ?? value.typeName)") }()
        }
        if let metadata = object["metadata"] {
            guard case .object(let entries) = metadata else {
                throw fail("metadata", "expected an object, found \(metadata.typeName)")
            }
            for (key, entry) in entries {
                guard let text = entry.scalarText else {
                    if entry == .null { continue }
                    throw fail("metadata.\(key)", "expected a string, number or boolean, found \(entry.typeName)")
                }
                query.metadata[key] = text
            }
        }
        let known: Set<String> = ["text", "subject", "channel", "customerId", "customer_id", "externalId",
                                  "external_id", "createdAt", "created_at", "metadata"]
        for (key, entry) in object where !known.contains(key) && !managedFields.contains(key) {
            guard let text = entry.scalarText else {
                if entry == .null { continue }
                throw fail(key, "unsupported value type \(entry.typeName); extra fields must be strings, numbers or booleans")
            }
            query.metadata[key] = text
        }
        if query.externalId?.isEmpty ?? true {
            query.externalId = query.contentFingerprint
        }
        return query
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
