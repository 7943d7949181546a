import Foundation
import TriageCore

/// The records of a JSON, JSONL or CSV file, each turned into a value by the caller, all or nothing: the first
/// problem is thrown as an ``ImportError`` naming the file, the line or record, and the field. Queries
/// (``QueryFileReader``) and labelled examples (``ExampleFileReader``) are read through here, so both report bad
/// input the same way.
enum RecordFile {
    /// Turns one record (a JSON object, or a CSV row as an object of strings) at a location into a value.
    typealias Record<T> = (_ value: JSONValue, _ file: String, _ location: String) throws -> T

    static func read<T>(path: String, format: QueryFileFormat?, what: String, record: Record<T>) throws -> [T] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ImportError(file: path, message: "the file \(reason)")
        }
        return try parse(data, format: format ?? .detect(path: path, data: data), file: path, what: what,
                         record: record)
    }

    static func parse<T>(_ data: Data, format: QueryFileFormat, file: String, what: String,
                         record: Record<T>) throws -> [T] {
        if let offset = JSONSyntax.firstInvalidUTF8(in: data) {
            throw ImportError(file: file, location: JSONSyntax.position(of: offset, in: data),
                              message: "not UTF-8 text")
        }
        let records: [T]
        switch format {
        case .json: records = try parseJSONArray(data, file: file, record: record)
        case .jsonl: records = try parseJSONLines(data, file: file, record: record)
        case .csv: records = try parseCSV(data, file: file, record: record)
        }
        guard !records.isEmpty else { throw ImportError(file: file, message: "no \(what) found") }
        return records
    }

    /// Reads a JSON Lines file as it streams, a block at a time, and hands each record to `body` in order; memory
    /// holds one block, whatever the file's size. The same checks and messages as ``parseJSONLines(_:file:record:)``.
    /// - Returns: How many records there were.
    @discardableResult
    static func streamJSONLines(path: String, body: (_ value: JSONValue, _ location: String) throws -> Void) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ImportError(file: path, message: "the file \(reason)")
        }
        defer { try? handle.close() }
        var lines = JSONLines(file: path)
        var carried = Data()
        while true {
            let block: Data
            do {
                block = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw ImportError(file: path, message: "the file cannot be read: \(error.localizedDescription)")
            }
            guard !block.isEmpty else { break }
            try block.withUnsafeBytes { raw in
                var start = 0
                while start < raw.count {
                    guard let found = memchr(raw.baseAddress! + start, 0x0A, raw.count - start) else {
                        carried.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start...]))
                        break
                    }
                    let end = UnsafeRawPointer(found) - raw.baseAddress!
                    let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    if carried.isEmpty {
                        try lines.read(line, body)
                    } else {
                        carried.append(contentsOf: line)
                        try carried.withUnsafeBytes { try lines.read($0, body) }
                        carried.removeAll(keepingCapacity: true)
                    }
                    start = end + 1
                }
            }
        }
        if !carried.isEmpty { try carried.withUnsafeBytes { try lines.read($0, body) } }
        return lines.records
    }

    /// The lines of one JSON Lines file, read one at a time.
    private struct JSONLines {
        let file: String
        var number = 0
        var records = 0
        lazy var decoder = JSONDecoder()

        init(file: String) {
            self.file = file
        }

        mutating func read(_ line: UnsafeRawBufferPointer,
                           _ body: (_ value: JSONValue, _ location: String) throws -> Void) throws {
            number += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            let location = "line \(number)"
            let value: JSONValue
            switch JSONValue.parseInput(line) {
            case .value(let parsed):
                value = parsed
            case .duplicateKey(let key, let offset):
                throw ImportError(file: file, location: "\(location), column \(offset + 1)", field: key,
                                  message: "appears twice in one object; which value is meant is unclear")
            case .invalid:
                let bytes = Data(line)
                if let offset = JSONSyntax.firstInvalidUTF8(in: bytes) {
                    throw ImportError(file: file, location: "\(location), column \(offset + 1)", message: "not UTF-8 text")
                }
                do {
                    value = try decoder.decode(JSONValue.self, from: bytes)
                } catch {
                    let problem = JSONSyntax.problem(in: bytes)
                    let column = problem.offset.map { " at column \($0 + 1)" } ?? ""
                    throw ImportError(file: file, location: location, message: "malformed JSON: \(problem.reason)\(column)")
                }
            }
            records += 1
            try body(value, location)
        }
    }

    static func parseJSONArray<T>(_ data: Data, file: String, record: Record<T>) throws -> [T] {
        let values: [JSONValue]
        switch data.withUnsafeBytes({ JSONValue.parseInput($0) }) {
        case .duplicateKey(let key, let offset):
            throw ImportError(file: file, location: JSONSyntax.position(of: offset, in: data), field: key,
                              message: "appears twice in one object; which value is meant is unclear")
        case .value(.array(let elements)):
            values = elements
        case .value, .invalid:
            values = try decodeJSONArray(data, file: file)
        }
        return try values.enumerated().map { index, value in
            try record(value, file, "record \(index + 1)")
        }
    }

    /// A JSON array the fast parser did not take, or why it is not one.
    private static func decodeJSONArray(_ data: Data, file: String) throws -> [JSONValue] {
        do {
            return try JSONDecoder().decode([JSONValue].self, from: data)
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
    }

    static func parseJSONLines<T>(_ data: Data, file: String, record: Record<T>) throws -> [T] {
        var records: [T] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let location = "line \(index + 1)"
            guard line.contains(where: { !Character(UnicodeScalar($0)).isWhitespace }) else { continue }
            let value: JSONValue
            let parsed = line.withUnsafeBytes { JSONValue.parseInput($0) }
            if case .duplicateKey(let key, let offset) = parsed {
                throw ImportError(file: file, location: "\(location), column \(offset + 1)", field: key,
                                  message: "appears twice in one object; which value is meant is unclear")
            }
            do {
                if case .value(let fast) = parsed { value = fast } else {
                    value = try JSONDecoder().decode(JSONValue.self, from: Data(line))
                }
            } catch {
                let problem = JSONSyntax.problem(in: Data(line))
                let column = problem.offset.map { " at column \($0 + 1)" } ?? ""
                throw ImportError(file: file, location: location, message: "malformed JSON: \(problem.reason)\(column)")
            }
            records.append(try record(value, file, location))
        }
        return records
    }

    static func parseCSV<T>(_ data: Data, file: String, record: Record<T>) throws -> [T] {
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
            return try record(.object(object), file, location)
        }
    }
}

/// One record's fields, read with errors that name the file, the location and the field.
struct RecordFields {
    let object: [String: JSONValue]
    let file: String
    let location: String

    /// - Throws: ``ImportError`` if `value` is not a JSON object.
    init(_ value: JSONValue, file: String, location: String) throws {
        guard case .object(let object) = value else {
            throw ImportError(file: file, location: location, message: "expected a JSON object, found \(value.typeName)")
        }
        self.object = object
        self.file = file
        self.location = location
    }

    func fail(_ field: String, _ message: String) -> ImportError {
        ImportError(file: file, location: location, field: field, message: message)
    }

    /// A label: the first of `names` present, trimmed, `nil` if absent or blank; with `allowed`, it must be one of
    /// them (the taxonomy's names).
    func label(_ names: [String], allowed: [String]?) throws -> String? {
        for name in names {
            guard let raw = try string(name) else { continue }
            let value = raw.trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { continue }
            if let allowed, !allowed.contains(value) {
                throw fail(name, "'\(value)' is not in the taxonomy (\(allowed.joined(separator: ", ")))")
            }
            return value
        }
        return nil
    }

    /// The first of `names` present, as a string (a number too where `allowNumber`); `nil` if absent or null.
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
}
