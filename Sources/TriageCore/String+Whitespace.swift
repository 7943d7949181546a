import Foundation

extension StringProtocol {
    /// The text without leading and trailing white space (Unicode's White_Space: spaces, tabs and line breaks of
    /// every script), read scalar by scalar. Foundation's `trimmingCharacters(in:)` goes through NSString on Linux,
    /// which made it most of the time spent checking a model's answer.
    public var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
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
