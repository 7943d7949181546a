import Foundation
import TriageCore

// How queries, classifications and runs look as MongoDB documents (see docs/mongodb.md): `_id` ObjectId, dates as
// BSON dates, `attempts` int32, the classification a subdocument. Documents written by another application with
// no Triage fields at all read as pending queries.

extension MongoQueryStore {
    static func document(for query: SupportQuery, now: Date) -> BSONDocument {
        var document: BSONDocument = [
            "_id": .objectID(.generate()),
            "text": .string(query.text),
        ]
        document["subject"] = query.subject.map(BSONValue.string)
        document["channel"] = query.channel.map(BSONValue.string)
        document["customerId"] = query.customerId.map(BSONValue.string)
        // Absent, not null, when there is none: the unique index on it is sparse.
        document["externalId"] = query.externalId.map(BSONValue.string)
        document["createdAt"] = .date(query.createdAt)
        if !query.metadata.isEmpty {
            document["metadata"] = .document(BSONDocument(query.metadata.sorted { $0.key < $1.key }
                .map { (key: $0.key, value: .string($0.value)) }))
        }
        if let expected = query.expected, !expected.isEmpty {
            document["expected"] = .document(labels(category: expected.category, priority: expected.priority,
                                                    sentiment: expected.sentiment))
        }
        document["status"] = .string(QueryStatus.pending.rawValue)
        document["attempts"] = .int32(0)
        // Due from its import: the backlog is served in the order it arrived (see SQLiteQueryStore.insert).
        document["nextAttemptAt"] = .date(now)
        document["updatedAt"] = .date(now)
        return document
    }

    /// The labels that are set, as fields of a subdocument.
    private static func labels(category: String?, priority: String?, sentiment: String?) -> BSONDocument {
        var document: BSONDocument = [:]
        document["category"] = category.map(BSONValue.string)
        document["priority"] = priority.map(BSONValue.string)
        document["sentiment"] = sentiment.map(BSONValue.string)
        return document
    }

    static func document(for correction: Correction) -> BSONDocument {
        var document = labels(category: correction.category, priority: correction.priority,
                              sentiment: correction.sentiment)
        document["note"] = correction.note.map(BSONValue.string)
        document["by"] = .string(correction.by)
        document["at"] = .date(correction.at)
        return document
    }

    /// A classification as its subdocument: every field of ``Classification/fields`` under its name.
    static func document(for classification: Classification) -> BSONDocument {
        BSONDocument(classification.storedValues.compactMap { field, value in
            value.map { (key: field.name, value: bson($0)) }
        })
    }

    /// A classification field's value as BSON: tokens as int64, dates as BSON dates.
    static func bson(_ value: Classification.StoredValue) -> BSONValue {
        switch value {
        case .text(let text): .string(text)
        case .real(let number): .double(number)
        case .integer(let number): .int64(Int64(number))
        case .flag(let flag): .bool(flag)
        case .date(let date): .date(date)
        case .list(let items): .array(items.map(BSONValue.string))
        case .counts(let counts): .document(BSONDocument(counts.sorted { $0.key < $1.key }.map {
            (key: $0.key, value: BSONValue.int64(Int64($0.value)))
        }))
        }
    }

    /// A stored classification field's value, read by the field's kind.
    static func stored(_ value: BSONValue?, as kind: Classification.StoredKind) -> Classification.StoredValue? {
        switch kind {
        case .text: value?.stringValue.map { .text($0) }
        case .real: value?.doubleValue.map { .real($0) }
        case .integer: value?.intValue.map { .integer($0) }
        case .flag: value?.boolValue.map { .flag($0) }
        case .date: value?.dateValue.map { .date($0) }
        case .list: value?.arrayValue.map { .list($0.compactMap(\.stringValue)) }
        case .counts: value?.documentValue.map { document in
            .counts(Dictionary(document.fields.compactMap { field in field.value.intValue.map { (field.key, $0) } },
                               uniquingKeysWith: +))
        }
        }
    }

    static func document(for error: RecordedError) -> BSONDocument {
        ["kind": .string(error.kind), "message": .string(error.message), "at": .date(error.at)]
    }

    /// A stored document as a record, or `nil` when its `_id` is not an ObjectId (Triage addresses queries by it).
    static func record(from document: BSONDocument) -> QueryRecord? {
        guard case .objectID(let oid)? = document["_id"] else { return nil }
        let createdAt = document["createdAt"]?.dateValue ?? oid.timestamp
        var query = SupportQuery(text: document["text"]?.stringValue ?? "", createdAt: createdAt)
        query.subject = document["subject"]?.stringValue
        query.channel = document["channel"]?.stringValue
        query.customerId = document["customerId"]?.stringValue
        query.externalId = document["externalId"]?.stringValue
        for field in document["metadata"]?.documentValue?.fields ?? [] {
            if let value = field.value.stringValue { query.metadata[field.key] = value }
        }
        if let expected = document["expected"]?.documentValue {
            let labels = ExpectedLabels(category: expected["category"]?.stringValue,
                                        priority: expected["priority"]?.stringValue,
                                        sentiment: expected["sentiment"]?.stringValue)
            query.expected = labels.isEmpty ? nil : labels
        }
        let status = document["status"]?.stringValue.flatMap(QueryStatus.init(rawValue:)) ?? .pending
        var record = QueryRecord(
            id: QueryID(oid.description), query: query, status: status,
            attempts: document["attempts"]?.intValue ?? 0,
            nextAttemptAt: document["nextAttemptAt"]?.dateValue ?? createdAt,
            updatedAt: document["updatedAt"]?.dateValue ?? createdAt
        )
        if status == .processing, let lease = document["lease"]?.documentValue,
           let owner = lease["owner"]?.stringValue, let token = lease["token"]?.stringValue,
           let expiresAt = lease["expiresAt"]?.dateValue {
            record.lease = Lease(owner: owner, token: token, expiresAt: expiresAt)
        }
        if let error = document["lastError"]?.documentValue {
            record.lastError = RecordedError(
                kind: error["kind"]?.stringValue ?? "unknown", message: error["message"]?.stringValue ?? "",
                at: error["at"]?.dateValue ?? record.updatedAt
            )
        }
        if let stored = document["classification"]?.documentValue {
            record.classification = Classification { _, field in Self.stored(stored[field.name], as: field.kind) }
        }
        if let c = document["correction"]?.documentValue, let category = c["category"]?.stringValue {
            record.correction = Correction(
                category: category, priority: c["priority"]?.stringValue, sentiment: c["sentiment"]?.stringValue,
                note: c["note"]?.stringValue, by: c["by"]?.stringValue ?? "unknown",
                at: c["at"]?.dateValue ?? record.updatedAt
            )
        }
        return record
    }

    /// A value the store keeps as a plain document (run records), through its JSON form.
    static func bson<T: Encodable>(encoding value: T) throws -> BSONValue {
        BSONValue(json: try JSONDecoder().decode(JSONValue.self, from: JSONEncoder.triage.encode(value)))
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: BSONValue) throws -> T {
        try JSONDecoder.triage.decode(T.self, from: JSONEncoder().encode(value.json))
    }
}

extension BSONValue {
    init(json: JSONValue) {
        switch json {
        case .string(let value): self = .string(value)
        case .integer(let value): self = .int64(Int64(value))
        case .number(let value): self = .double(value)
        case .bool(let value): self = .bool(value)
        case .null: self = .null
        case .array(let values): self = .array(values.map(BSONValue.init(json:)))
        case .object(let object):
            let fields = object.sorted { $0.key < $1.key }.map { (key: $0.key, value: BSONValue(json: $0.value)) }
            self = .document(BSONDocument(fields))
        }
    }

    var json: JSONValue {
        switch self {
        case .string(let value): .string(value)
        case .int32(let value): .integer(Int(value))
        case .int64(let value): .integer(Int(value))
        case .double(let value): .number(value)
        case .bool(let value): .bool(value)
        case .date(let value): .string(ISO8601DateFormatter().string(from: value))
        case .objectID(let value): .string(value.description)
        case .document(let document):
            .object(Dictionary(document.fields.map { ($0.key, $0.value.json) }, uniquingKeysWith: { first, _ in first }))
        case .array(let values): .array(values.map(\.json))
        case .null, .unsupported: .null
        }
    }
}
