import Foundation
import TriageCore

/// One exported query, flat: its input, its state, its last error and its classification at the top level (every
/// exported field of ``Classification/fields``, under its name), then the expected labels and a person's correction.
public struct ExportRecord: Sendable, Hashable, Encodable {
    public var id: String
    public var externalId: String?
    public var text: String
    public var subject: String?
    public var channel: String?
    public var customerId: String?
    public var createdAt: Date
    public var status: String
    public var attempts: Int
    public var lastErrorKind: String?
    public var lastError: String?
    public var classification: Classification?
    /// The labels the query was imported with; named as import reads them, so an export imports again with them.
    public var expectedCategory: String?
    public var expectedPriority: String?
    public var expectedSentiment: String?
    /// A person's correction, beside the model's answer above.
    public var correctedCategory: String?
    public var correctedPriority: String?
    public var correctedSentiment: String?
    public var correctionNote: String?
    public var correctedBy: String?
    public var correctedAt: Date?
    public var metadata: [String: String]?

    public init(_ record: QueryRecord) {
        id = record.id.rawValue
        externalId = record.query.externalId
        text = record.query.text
        subject = record.query.subject
        channel = record.query.channel
        customerId = record.query.customerId
        createdAt = record.query.createdAt
        status = record.status.rawValue
        attempts = record.attempts
        lastErrorKind = record.lastError?.kind
        lastError = record.lastError?.message
        classification = record.classification
        expectedCategory = record.query.expected?.category
        expectedPriority = record.query.expected?.priority
        expectedSentiment = record.query.expected?.sentiment
        let correction = record.correction
        correctedCategory = correction?.category
        correctedPriority = correction?.priority
        correctedSentiment = correction?.sentiment
        correctionNote = correction?.note
        correctedBy = correction?.by
        correctedAt = correction?.at
        metadata = record.query.metadata.isEmpty ? nil : record.query.metadata
    }

    /// The classification's exported fields, in the export's order.
    static let classificationFields = Classification.fields.filter(\.exported)

    /// A cell of the export: text, a number, a flag or a date.
    private enum Cell {
        case text(String), integer(Int), real(Double), flag(Bool), date(Date)

        init(_ value: Classification.StoredValue) {
            switch value {
            case .text(let value): self = .text(value)
            case .integer(let value): self = .integer(value)
            case .real(let value): self = .real(value)
            case .flag(let value): self = .flag(value)
            case .date(let value): self = .date(value)
            case .list(let values): self = .text(values.joined(separator: "; "))
            case .counts(let counts): self = .text(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                                                    .joined(separator: "; "))
            }
        }

        var csv: String {
            switch self {
            case .text(let value): value
            case .integer(let value): String(value)
            case .real(let value): String(value)
            case .flag(let value): String(value)
            case .date(let value): ExportWriter.iso8601.format(value)
            }
        }
    }

    /// Every column but `metadata`, in order: its name and its cell (`nil`: empty in CSV, absent in JSON).
    private static let columns: [(name: String, cell: @Sendable (ExportRecord) -> Cell?)] = {
        func text(_ name: String, _ value: @escaping @Sendable (ExportRecord) -> String?) -> (String, @Sendable (ExportRecord) -> Cell?) {
            (name, { value($0).map(Cell.text) })
        }
        let head: [(String, @Sendable (ExportRecord) -> Cell?)] = [
            text("id", \.id), text("externalId", \.externalId), text("text", \.text), text("subject", \.subject),
            text("channel", \.channel), text("customerId", \.customerId), ("createdAt", { .date($0.createdAt) }),
            text("status", \.status), ("attempts", { .integer($0.attempts) }),
            text("lastErrorKind", \.lastErrorKind), text("lastError", \.lastError),
        ]
        let answer: [(String, @Sendable (ExportRecord) -> Cell?)] = classificationFields.map { field in
            (field.name, { record in record.classification.flatMap(field.value).map(Cell.init) })
        }
        let labels: [(String, @Sendable (ExportRecord) -> Cell?)] = [
            text("expectedCategory", \.expectedCategory), text("expectedPriority", \.expectedPriority),
            text("expectedSentiment", \.expectedSentiment), text("correctedCategory", \.correctedCategory),
            text("correctedPriority", \.correctedPriority), text("correctedSentiment", \.correctedSentiment),
            text("correctionNote", \.correctionNote), text("correctedBy", \.correctedBy),
            ("correctedAt", { $0.correctedAt.map(Cell.date) }),
        ]
        return (head + answer + labels).map { (name: $0.0, cell: $0.1) }
    }()

    /// CSV columns, in order.
    static let csvColumns = columns.map(\.name)

    var csvFields: [String] { Self.columns.map { $0.cell(self)?.csv ?? "" } }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, cell) in Self.columns.map({ ($0.name, $0.cell(self)) }) {
            switch cell {
            case .text(let value)?: try container.encode(value, forKey: Key(name))
            case .integer(let value)?: try container.encode(value, forKey: Key(name))
            case .real(let value)?: try container.encode(value, forKey: Key(name))
            case .flag(let value)?: try container.encode(value, forKey: Key(name))
            case .date(let value)?: try container.encode(value, forKey: Key(name))
            case nil: break
            }
        }
        try container.encodeIfPresent(metadata, forKey: Key("metadata"))
    }
}

/// Writes queries as JSON, JSONL or CSV, one record at a time, so exports of any size use little memory.
public struct ExportWriter {
    private let format: QueryFileFormat
    private let output: FileHandle
    private let encoder: JSONEncoder
    private var written = 0

    static let iso8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public init(format: QueryFileFormat, output: FileHandle) {
        self.format = format
        self.output = output
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ExportWriter.iso8601.format(date))
        }
    }

    /// Writes the format's opening (the JSON bracket, the CSV header).
    public mutating func begin() throws {
        switch format {
        case .json: try write("[")
        case .jsonl: break
        case .csv: try write(ExportRecord.csvColumns.joined(separator: ",") + "\r\n")
        }
    }

    public mutating func write(_ record: QueryRecord) throws {
        try write(ExportRecord(record))
    }

    public mutating func write(_ record: ExportRecord) throws {
        switch format {
        case .json:
            try write((written == 0 ? "\n" : ",\n") + String(decoding: try encoder.encode(record), as: UTF8.self))
        case .jsonl:
            try write(String(decoding: try encoder.encode(record), as: UTF8.self) + "\n")
        case .csv:
            try write(record.csvFields.map(Self.csvEscape).joined(separator: ",") + "\r\n")
        }
        written += 1
    }

    /// Writes the format's closing; returns how many records were written.
    @discardableResult
    public mutating func end() throws -> Int {
        if format == .json { try write(written == 0 ? "]\n" : "\n]\n") }
        return written
    }

    private func write(_ text: String) throws {
        try output.write(contentsOf: Data(text.utf8))
    }

    /// One CSV cell. A cell that a spreadsheet would run as a formula gets a leading `'`, which makes it text
    /// (OWASP's advice): one starting with `=`, `+`, `-` or `@` (or their fullwidth forms, which spreadsheets read
    /// the same), after any white space, or with a tab or a carriage return, as a customer's text may. A cell holding
    /// a separator of either convention (`,` or `;`), a quote, a tab or a line break is quoted.
    static func csvEscape(_ field: String) -> String {
        var field = field
        let formula: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}"]
        let leading = field.unicodeScalars.first
        let firstVisible = field.unicodeScalars.first { !$0.properties.isWhitespace }
        if leading == "\t" || leading == "\r" || firstVisible.map(formula.contains) == true { field = "'" + field }
        guard field.contains(where: { $0 == "," || $0 == ";" || $0 == "\"" || $0 == "\t" || $0.isNewline }) else {
            return field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension ExportWriter {
    /// Writes `queries` (input only, as `import --count --output` saves them) as a JSON array.
    public static func writeQueries(_ queries: [SupportQuery], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(queries).write(to: url, options: .atomic)
    }
}
