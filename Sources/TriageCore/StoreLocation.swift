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

    /// The URI with its secrets masked: the password (`scheme://user:***@host/…`), and the values of options that
    /// carry one (`…Password=***`, `authMechanismProperties=***`).
    ///
    /// A password may hold `?`, `/`, `#` or `@` (unescaped, as people type them), so everything between `://` and
    /// the last `@` is user information; the user name stays visible only when nothing in it could be part of a
    /// password or a path. When in doubt, more is masked, never less.
    public static func redact(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        var rest = Substring(uri[schemeEnd.upperBound...])
        var shownUser = ""
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            let user = userinfo.prefix { $0 != ":" }
            let plainUser = !user.contains { "/?#[]".contains($0) }
            if user.count == userinfo.count && plainUser {
                shownUser = user + "@"                   // a user name alone, no password
            } else {
                shownUser = (plainUser ? user + ":" : "") + "***@"
            }
            rest = rest[rest.index(after: at)...]
        }
        return uri[..<schemeEnd.upperBound] + shownUser + maskingSecretOptions(in: rest)
    }

    private static func maskingSecretOptions(in hostAndOptions: Substring) -> String {
        guard let question = hostAndOptions.firstIndex(of: "?") else { return String(hostAndOptions) }
        let options = hostAndOptions[hostAndOptions.index(after: question)...]
            .split(separator: "&", omittingEmptySubsequences: false)
            .map { option -> String in
                guard let equals = option.firstIndex(of: "=") else { return String(option) }
                let name = option[..<equals].lowercased()
                let secret = name.contains("password") || name.contains("secret") || name.contains("token")
                    || name == "authmechanismproperties"
                return secret ? option[...equals] + "***" : String(option)
            }
        return hostAndOptions[...question] + options.joined(separator: "&")
    }
}
