import Foundation

extension JSONValue {
    /// Parses one JSON text the way `JSONDecoder` decodes a ``JSONValue`` (a number that is a whole value within
    /// `Int` is an integer; the first of repeated keys wins), several times faster: imports of a million lines spend
    /// their time here. `nil` for anything it does not accept, and the caller asks `JSONDecoder` what is wrong.
    public static func parse(_ data: Data) -> JSONValue? {
        data.withUnsafeBytes(parse)
    }

    /// Parses the JSON text in `bytes`; see ``parse(_:)-(Data)``.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        guard case .value(let value) = parseInput(bytes, refusingDuplicateKeys: false) else { return nil }
        return value
    }

    /// What ``parseInput(_:refusingDuplicateKeys:)`` makes of a text.
    public enum ParsedInput: Sendable, Equatable {
        case value(JSONValue)
        /// An object repeats `key`; `offset` is the byte where the repetition starts.
        case duplicateKey(String, offset: Int)
        /// Not JSON the fast parser accepts (ask `JSONDecoder` why).
        case invalid
    }

    /// Parses input from outside (a request, an imported line) like ``parse(_:)-(Data)``, but an object that repeats
    /// a key is refused rather than read with one of its values silently dropped.
    public static func parseInput(_ bytes: UnsafeRawBufferPointer, refusingDuplicateKeys: Bool = true) -> ParsedInput {
        var parser = FastJSONParser(bytes: bytes, refuseDuplicates: refusingDuplicateKeys)
        guard let value = parser.value(depth: 0) else {
            return parser.duplicate.map { .duplicateKey($0.key, offset: $0.offset) } ?? .invalid
        }
        parser.skipSpace()
        return parser.index == bytes.count ? .value(value) : .invalid
    }
}

private struct FastJSONParser {
    let bytes: UnsafeRawBufferPointer
    let refuseDuplicates: Bool
    var index = 0
    /// The first repeated key, when ``refuseDuplicates`` stopped the parse at it.
    var duplicate: (key: String, offset: Int)?

    init(bytes: UnsafeRawBufferPointer, refuseDuplicates: Bool) {
        self.bytes = bytes
        self.refuseDuplicates = refuseDuplicates
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard depth < 512 else { return nil }
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return value
    }

    mutating func object(depth: Int) -> JSONValue? {
        index += 1
        var fields: [String: JSONValue] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(fields)
        }
        while true {
            skipSpace()
            let keyStart = index
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = value(depth: depth + 1) else { return nil }
            // The first value of a key is kept, found with one lookup: this is most of a large file's parse.
            if !Self.keepFirst(&fields[key], value), refuseDuplicates {
                duplicate = (key, keyStart)
                return nil
            }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(fields)
            default: return nil
            }
        }
    }

    /// Puts `value` in an empty `slot`; `false` (and `slot` unchanged) when it holds one already.
    private static func keepFirst(_ slot: inout JSONValue?, _ value: JSONValue) -> Bool {
        guard case .none = slot else { return false }
        slot = value
        return true
    }

    mutating func array(depth: Int) -> JSONValue? {
        index += 1
        var elements: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            guard let element = value(depth: depth + 1) else { return nil }
            elements.append(element)
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: return nil
            }
        }
    }

    /// A string starting at the opening quote. Plain runs are copied whole; escapes are decoded one by one.
    mutating func string() -> String? {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        var scalars = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: scalars, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(code) {
                        return nil
                    }
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            default:
                if byte < 0x20 { return nil }
                scalars.append(byte)
            }
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            code = code << 4 | UInt32(digit)
        }
        return code
    }

    /// A number with JSON's grammar: an integer when it is a whole value within `Int`, as `JSONDecoder` has it.
    mutating func number() -> JSONValue? {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let whole = index
        guard digits() > 0 else { return nil }
        if bytes[whole] == UInt8(ascii: "0"), index - whole > 1 { return nil }
        var plain = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            plain = false
            guard digits() > 0 else { return nil }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            plain = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        else { return nil }
        if plain, let integer = Int(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 9.2e18 { return .integer(Int(double)) }
        return .number(double)
    }
}
