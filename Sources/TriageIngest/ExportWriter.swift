import Foundation
import TriageCore

/// One exported query, flat: its input, its state, its last error and its classification at the top level.
public struct ExportRecord: Sendable, Codable, Hashable {
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
    public var category: String?
    public var priority: String?
    public var sentiment: String?
    public var language: String?
    public var confidence: Double?
    public var summary: String?
    public var model: String?
    public var taxonomyVersion: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var latencyMs: Double?
    public var costUSD: Double?
    public var classifiedAt: Date?
    public var needsReview: Bool?
    /// The query whose answer this one took instead of asking the model.
    public var reusedFrom: String?
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
        let c = record.classification
        category = c?.category
        priority = c?.priority
        sentiment = c?.sentiment
        language = c?.language
        confidence = c?.confidence
        summary = c?.summary
        model = c?.model
        taxonomyVersion = c?.taxonomyVersion
        promptTokens = c?.promptTokens
        completionTokens = c?.completionTokens
        latencyMs = c?.latencyMs
        costUSD = c?.costUSD
        classifiedAt = c?.classifiedAt
        needsReview = c?.needsReview
        reusedFrom = c?.reusedFrom?.rawValue
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

    /// CSV columns, in order.
    static let csvColumns = [
        "id", "externalId", "text", "subject", "channel", "customerId", "createdAt", "status", "attempts",
        "lastErrorKind", "lastError", "category", "priority", "sentiment", "language", "confidence", "summary",
        "model", "taxonomyVersion", "promptTokens", "completionTokens", "latencyMs", "costUSD", "classifiedAt",
        "needsReview", "expectedCategory", "expectedPriority", "expectedSentiment", "correctedCategory",
        "correctedPriority", "correctedSentiment", "correctionNote", "correctedBy", "correctedAt", "reusedFrom",
    ]

    var csvFields: [String] {
        func date(_ value: Date?) -> String { value.map { ExportWriter.iso8601.format($0) } ?? "" }
        func text(_ value: (some CustomStringConvertible)?) -> String { value.map(\.description) ?? "" }
        return [
            id, text(externalId), self.text, text(subject), text(channel), text(customerId), date(createdAt), status,
            String(attempts), text(lastErrorKind), text(lastError), text(category), text(priority), text(sentiment),
            text(language), text(confidence), text(summary), text(model), text(taxonomyVersion), text(promptTokens),
            text(completionTokens), text(latencyMs), text(costUSD), date(classifiedAt), text(needsReview),
            text(expectedCategory), text(expectedPriority), text(expectedSentiment), text(correctedCategory),
            text(correctedPriority), text(correctedSentiment), text(correctionNote), text(correctedBy),
            date(correctedAt), text(reusedFrom),
        ]
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

    /// One CSV cell. A cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
    /// a carriage return, as a customer's text may) gets a leading `'`, which makes it text (OWASP's advice).
    static func csvEscape(_ field: String) -> String {
        var field = field
        if let first = field.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { field = "'" + field }
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
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
