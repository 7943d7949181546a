import Foundation

/// Where and why bytes are not the JSON (or UTF-8) they should be, in words a person can act on: shared by the file
/// readers and the API's body decoding so that both name the line and column.
public enum JSONSyntax {
    /// Why `data` is not valid JSON, and the byte offset where the parser gave up, when it says.
    public static func problem(in data: Data) -> (reason: String, offset: Int?) {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return ("not valid JSON", nil)
        } catch {
            let detail = (error as NSError).userInfo["NSDebugDescription"] as? String ?? "not valid JSON"
            let reason = detail.replacingOccurrences(of: #" around (line \d+, column \d+|character \d+)"#, with: "",
                                                     options: .regularExpression)
                .trimmingCharacters(in: CharacterSet(charactersIn: ". "))
            let said = reason.prefix(1).lowercased() + reason.dropFirst()
            if let match = detail.firstMatch(of: /character (\d+)/), let offset = Int(match.1) {
                return (said, min(offset, data.count))
            }
            return (said, detail.contains("end of file") ? data.count : nil)
        }
    }

    /// `line L, column C` of the byte at `offset`.
    public static func position(of offset: Int, in data: Data) -> String {
        let prefix = data.prefix(offset)
        let line = prefix.count { $0 == UInt8(ascii: "\n") } + 1
        let lineStart = prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 - data.startIndex + 1 } ?? 0
        return "line \(line), column \(offset - lineStart + 1)"
    }

    /// The offset of the first byte that is not part of valid UTF-8, or `nil` when all of it is.
    public static func firstInvalidUTF8(in data: Data) -> Int? {
        // The standard library's validation is fast; the scalar-by-scalar walk runs only to find where it failed.
        guard String(validating: data, as: UTF8.self) == nil else { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}
