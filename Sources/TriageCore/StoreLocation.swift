import Foundation

/// Where a store lives, parsed from a store URI such as `sqlite:./triage.sqlite` or `mongodb://host/db`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite database file.
    case sqliteFile(path: String)
    /// A private in-memory SQLite database, gone when the process ends.
    case sqliteMemory
    /// A MongoDB connection string, kept whole for the driver to parse.
    case mongodb(uri: String)

    /// Parses a store URI.
    /// - Throws: ``StoreError/invalidLocation(_:)`` naming the problem.
    public init(parsing uri: String) throws {
        let trimmed = uri.trimmingCharacters(in: .whitespaces)
        if trimmed == "sqlite::memory:" {
            self = .sqliteMemory
        } else if trimmed.hasPrefix("sqlite://") {
            let path = String(trimmed.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw StoreError.invalidLocation("store URI '\(trimmed)' has no file path") }
            self = .sqliteFile(path: path)
        } else if trimmed.hasPrefix("sqlite:") {
            let path = String(trimmed.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw StoreError.invalidLocation("store URI 'sqlite:' has no file path (try sqlite:./triage.sqlite)")
            }
            self = .sqliteFile(path: path)
        } else if trimmed.hasPrefix("mongodb://") || trimmed.hasPrefix("mongodb+srv://") {
            self = .mongodb(uri: trimmed)
        } else {
            let shown = Self.redact(trimmed)
            throw StoreError.invalidLocation(
                "unsupported store URI '\(shown)': expected sqlite:PATH, sqlite::memory: or mongodb://HOST/DATABASE"
            )
        }
    }

    /// The URI with any password replaced by `***`, safe for logs and errors.
    public var description: String {
        switch self {
        case .sqliteFile(let path): "sqlite:\(path)"
        case .sqliteMemory: "sqlite::memory:"
        case .mongodb(let uri): Self.redact(uri)
        }
    }

    /// Replaces the password in `scheme://user:password@host/…` with `***`.
    public static func redact(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let rest = uri[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@"),
              let colon = authority[..<at].firstIndex(of: ":") else { return uri }
        return uri[..<colon] + ":***" + uri[at...]
    }
}
