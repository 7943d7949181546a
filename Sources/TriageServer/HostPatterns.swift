import Foundation

/// Host names an operator allows: exact names (`hooks.example.com`) and whole subdomains (`*.example.com`, which
/// matches `a.example.com` and `a.b.example.com` but not `example.com` itself). Case-insensitive; a trailing dot is
/// ignored. Used for the `Host` header check and for webhook targets.
public struct HostPatterns: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public let patterns: [String]

    public init(_ patterns: some Sequence<String>) {
        self.patterns = patterns.map(Self.normalized).filter { !$0.isEmpty }
    }

    public init(arrayLiteral patterns: String...) {
        self.init(patterns)
    }

    public var isEmpty: Bool { patterns.isEmpty }

    public func matches(_ host: String) -> Bool {
        let host = Self.normalized(host)
        guard !host.isEmpty else { return false }
        return patterns.contains { pattern in
            if pattern.hasPrefix("*.") {
                return host.hasSuffix(pattern.dropFirst()) && host.count > pattern.count - 1
            }
            return host == pattern
        }
    }

    public var description: String { patterns.joined(separator: ", ") }

    static func normalized(_ host: String) -> String {
        var host = host.trimmingCharacters(in: .whitespaces).lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
