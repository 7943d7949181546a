import CMongoC
import Foundation

// The bridge between the store's BSON values and libbson. C pointers live only inside the scoped helpers below and
// in `MongoConnection.swift`; nothing else in Triage sees one.

extension BSONDocument {
    /// Runs `body` with this document as a `bson_t`, destroyed when `body` returns.
    func withBSON<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        let bson = makeBSON()
        defer { bson_destroy(bson) }
        return try body(bson)
    }

    /// A new `bson_t` the caller must destroy.
    fileprivate func makeBSON() -> OpaquePointer {
        let bson = bson_new()!
        for field in fields {
            field.value.append(to: bson, key: field.key)
        }
        return bson
    }

    /// Reads a `bson_t` the caller owns.
    init(reading bson: OpaquePointer) {
        let iterator = BSONIterator()
        defer { iterator.deallocate() }
        var fields: [(key: String, value: BSONValue)] = []
        if bson_iter_init(iterator.pointer, bson) {
            while bson_iter_next(iterator.pointer) {
                fields.append((key: String(cString: bson_iter_key(iterator.pointer)), value: iterator.value()))
            }
        }
        self.init(fields)
    }
}

/// Several documents as a C array of `bson_t` pointers for the duration of `body`.
func withBSONArray<T>(_ documents: [BSONDocument], _ body: (UnsafeMutablePointer<OpaquePointer?>, Int) throws -> T) rethrows -> T {
    var pointers: [OpaquePointer?] = documents.map { $0.makeBSON() }
    defer { pointers.forEach { bson_destroy($0) } }
    return try pointers.withUnsafeMutableBufferPointer { buffer in
        try body(buffer.baseAddress!, buffer.count)
    }
}

extension BSONValue {
    fileprivate func append(to bson: OpaquePointer, key: String) {
        switch self {
        case .string(let value):
            // With its length, so a string holding NUL characters is kept whole.
            let utf8 = Array(value.utf8)
            guard !utf8.isEmpty else {
                bson_append_utf8(bson, key, -1, "", 0)
                return
            }
            utf8.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    _ = bson_append_utf8(bson, key, -1, chars.baseAddress, Int32(chars.count))
                }
            }
        case .int32(let value): bson_append_int32(bson, key, -1, value)
        case .int64(let value): bson_append_int64(bson, key, -1, value)
        case .double(let value): bson_append_double(bson, key, -1, value)
        case .bool(let value): bson_append_bool(bson, key, -1, value)
        case .date(let value):
            // Truncated, never rounded up: a retry stored a fraction of a millisecond late would not be due when
            // the processor, reading the same clock, comes to claim it.
            bson_append_date_time(bson, key, -1, Int64((value.timeIntervalSince1970 * 1000).rounded(.down)))
        case .objectID(let value):
            var oid = bson_oid_t()
            withUnsafeMutableBytes(of: &oid.bytes) { $0.copyBytes(from: value.bytes) }
            bson_append_oid(bson, key, -1, &oid)
        case .document(let value):
            value.withBSON { child in _ = bson_append_document(bson, key, -1, child) }
        case .array(let values):
            let array = BSONDocument(values.enumerated().map { (key: String($0.offset), value: $0.element) })
            array.withBSON { child in _ = bson_append_array(bson, key, -1, child) }
        case .null, .unsupported:
            bson_append_null(bson, key, -1)
        }
    }
}

/// Storage for a `bson_iter_t`, which Swift imports as opaque (libbson aligns it to 128 bytes).
private struct BSONIterator {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 128)

    var pointer: OpaquePointer { OpaquePointer(raw) }

    func deallocate() { raw.deallocate() }

    /// The value the iterator is on.
    func value() -> BSONValue {
        let type = bson_iter_type(pointer)
        switch type {
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            guard let chars = bson_iter_utf8(pointer, &length) else { return .string("") }
            let bytes = UnsafeRawBufferPointer(start: chars, count: Int(length))
            return .string(String(decoding: bytes, as: UTF8.self))
        case BSON_TYPE_INT32: return .int32(bson_iter_int32(pointer))
        case BSON_TYPE_INT64: return .int64(bson_iter_int64(pointer))
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(pointer))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(pointer))
        case BSON_TYPE_DATE_TIME: return .date(Date(timeIntervalSince1970: Double(bson_iter_date_time(pointer)) / 1000))
        case BSON_TYPE_OID:
            let oid = bson_iter_oid(pointer)!.pointee
            return .objectID(ObjectID(bytes: withUnsafeBytes(of: oid.bytes) { Array($0) }))
        case BSON_TYPE_NULL, BSON_TYPE_UNDEFINED: return .null
        case BSON_TYPE_DOCUMENT, BSON_TYPE_ARRAY:
            let child = BSONIterator()
            defer { child.deallocate() }
            var fields: [(key: String, value: BSONValue)] = []
            if bson_iter_recurse(pointer, child.pointer) {
                while bson_iter_next(child.pointer) {
                    fields.append((key: String(cString: bson_iter_key(child.pointer)), value: child.value()))
                }
            }
            return type == BSON_TYPE_ARRAY ? .array(fields.map(\.value)) : .document(BSONDocument(fields))
        default:
            return .unsupported("BSON type 0x\(String(type.rawValue, radix: 16))")
        }
    }
}

extension ObjectID {
    /// A new ObjectId from libbson's generator (time, per-process random value, counter).
    static func generate() -> ObjectID {
        var oid = bson_oid_t()
        bson_oid_init(&oid, nil)
        return ObjectID(bytes: withUnsafeBytes(of: oid.bytes) { Array($0) })
    }
}
