import Foundation

extension String {
    /// The text without leading and trailing white space (Unicode's White_Space: spaces, tabs and line breaks of
    /// every script). Foundation's `trimmingCharacters(in:)` goes through NSString on Linux, which made it most of
    /// the time spent checking a model's answer.
    public var trimmingWhitespace: String {
        func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII ? scalar == " " || (0x09...0x0D).contains(scalar.value) : scalar.properties.isWhitespace
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        let end = scalars.index(after: last)
        return first == scalars.startIndex && end == scalars.endIndex ? self : String(scalars[first..<end])
    }
}

extension Sequence<UInt8> {
    /// The bytes as lower-case hexadecimal, two digits each (`String(format: "%02x")` is slow on Linux).
    public var hexDigits: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
