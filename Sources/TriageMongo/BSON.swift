import Foundation

/// A BSON value as the store reads and writes it; bridged to libbson only in `BSON+LibBSON.swift`.
enum BSONValue: Sendable, Hashable {
    case string(String)
    case int32(Int32)
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    /// A BSON date: milliseconds since 1970, UTC.
    case date(Date)
    case objectID(ObjectID)
    case document(BSONDocument)
    case array([BSONValue])
    case null
    /// A type the store never writes (binary, decimal128, regex, …), kept only by name.
    case unsupported(String)

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var dateValue: Date? {
        if case .date(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var documentValue: BSONDocument? {
        if case .document(let value) = self { return value }
        return nil
    }

    var arrayValue: [BSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Any BSON number as an `Int`.
    var intValue: Int? {
        switch self {
        case .int32(let value): Int(value)
        case .int64(let value): Int(value)
        case .double(let value) where value.isFinite: Int(value)
        default: nil
        }
    }

    /// Any BSON number as a `Double`.
    var doubleValue: Double? {
        switch self {
        case .int32(let value): Double(value)
        case .int64(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}

/// An ordered BSON document (key order matters to MongoDB: commands, sort specifications, index keys).
struct BSONDocument: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    private(set) var fields: [(key: String, value: BSONValue)]

    init(dictionaryLiteral elements: (String, BSONValue)...) {
        fields = elements.map { (key: $0.0, value: $0.1) }
    }

    init(_ fields: [(key: String, value: BSONValue)] = []) {
        self.fields = fields
    }

    /// The first value under `key`; setting appends the key or replaces its value, and `nil` removes it.
    subscript(key: String) -> BSONValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key: key, value: newValue))
            }
        }
    }

    var isEmpty: Bool { fields.isEmpty }

    static func == (lhs: BSONDocument, rhs: BSONDocument) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    func hash(into hasher: inout Hasher) {
        for field in fields {
            hasher.combine(field.key)
            hasher.combine(field.value)
        }
    }
}

/// A MongoDB ObjectId: 12 bytes, written as 24 lowercase hex digits.
struct ObjectID: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]

    init?(hex: String) {
        guard hex.utf8.count == 24 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.bytes = bytes
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 12, "an ObjectId has 12 bytes")
        self.bytes = bytes
    }

    var description: String {
        bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// When the id was generated (its first four bytes), to the second.
    var timestamp: Date {
        let seconds = bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension BSONValue {
    /// The value as the server keeps it: dates truncated to whole milliseconds, as `BSON+LibBSON.swift` writes them.
    /// Comparing what was written with what is read back needs this.
    var asStored: BSONValue {
        switch self {
        case .date(let value): .date(Date(timeIntervalSince1970: (value.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
        case .document(let document): .document(document.asStored)
        case .array(let values): .array(values.map(\.asStored))
        default: self
        }
    }
}

extension BSONDocument {
    /// The document as the server keeps it (see ``BSONValue/asStored``).
    var asStored: BSONDocument { BSONDocument(fields.map { (key: $0.key, value: $0.value.asStored) }) }
}
