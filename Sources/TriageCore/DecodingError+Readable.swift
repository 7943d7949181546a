import Foundation

extension DecodingError {
    /// Which field failed to decode and why, in one line, as every reader of outside input (a request body, a config
    /// file, a taxonomy) reports it: `field 'categories[2].description' is required`, `field 'limit': expected a
    /// number, found null`.
    public var readableDescription: String {
        switch self {
        case .keyNotFound(let key, let context):
            return "field '\(Self.path(context.codingPath + [key]))' is required"
        case .typeMismatch(let type, let context):
            return "\(Self.field(context.codingPath)): expected \(Self.name(of: type))"
        case .valueNotFound(let type, let context):
            return "\(Self.field(context.codingPath)): expected \(Self.name(of: type)), found null"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
            return "\(Self.field(context.codingPath)): \(context.debugDescription)\(underlying)"
        @unknown default:
            return "\(self)"
        }
    }

    private static func field(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "the top level" : "field '\(path(codingPath))'"
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "\(type)"
        }
    }
}
