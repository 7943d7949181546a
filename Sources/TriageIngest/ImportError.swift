/// A problem in an import file, located as precisely as the format allows.
public struct ImportError: Error, Sendable, CustomStringConvertible {
    /// The file as the user named it.
    public let file: String
    /// Where in the file: `line 12`, `record 3`.
    public let location: String?
    /// The field at fault, if one is.
    public let field: String?
    public let message: String

    public init(file: String, location: String? = nil, field: String? = nil, message: String) {
        self.file = file
        self.location = location
        self.field = field
        self.message = message
    }

    /// `queries.jsonl, line 3, field 'text': must not be empty`.
    public var description: String {
        var parts = [file]
        if let location { parts.append(location) }
        if let field { parts.append("field '\(field)'") }
        return parts.joined(separator: ", ") + ": " + message
    }
}
