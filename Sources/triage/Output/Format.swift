import Foundation

/// Number and duration formatting for people.
enum Format {
    /// `12,345`
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var result = ""
        for (index, char) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(char)
        }
        return value < 0 ? "-" + result : result
    }

    /// `45s`, `3m12s`, `1h04m`
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m"
    }

    /// A proportional bar of `width` cells.
    static func bar(_ value: Int, of maximum: Int, width: Int = 30) -> String {
        guard maximum > 0 else { return "" }
        let cells = max(value > 0 ? 1 : 0, Int((Double(value) / Double(maximum) * Double(width)).rounded()))
        return String(repeating: "█", count: cells)
    }

    /// Pads or cuts `text` to `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }

    /// `text` as it is if it fits in `width` characters, else cut to fit with an ellipsis.
    static func cut(_ text: String, _ width: Int) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "…" : text
    }

    /// Right-aligns `text` in `width` characters.
    static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// Pretty, key-sorted JSON with ISO 8601 dates.
    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try jsonEncoder.encode(value), as: UTF8.self)
    }
}
