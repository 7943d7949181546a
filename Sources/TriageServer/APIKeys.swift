import Crypto

/// The API keys a server accepts, kept only as SHA-256 digests: each configured key is hashed once at start-up, and
/// a presented key is hashed and compared with every digest in constant time (no early exit, no comparison of the
/// keys themselves), so response timing tells nothing about a key. Neither keys nor digests are ever printed.
public struct APIKeys: Sendable, ExpressibleByArrayLiteral, CustomStringConvertible, CustomReflectable {
    private let digests: [[UInt8]]

    public init(_ keys: some Sequence<String>) {
        digests = Set(keys.filter { !$0.isEmpty }).map(Self.digest)
    }

    public init(arrayLiteral keys: String...) {
        self.init(keys)
    }

    public var isEmpty: Bool { digests.isEmpty }

    /// Whether `presented` is one of the keys. Takes the same time whichever key matches, or none.
    public func accepts(_ presented: some StringProtocol) -> Bool {
        let digest = Self.digest(String(presented))
        var matches: UInt8 = 0
        for candidate in digests {
            // Every byte of every digest is compared; nothing stops early, at a mismatch or at a match.
            var difference: UInt8 = 0
            for (a, b) in zip(candidate, digest) { difference |= a ^ b }
            matches |= difference == 0 ? 1 : 0
        }
        return matches == 1
    }

    private static func digest(_ key: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(key.utf8)))
    }

    /// No children: `dump` and debuggers show the count, not the digests.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    public var description: String { "\(digests.count) API key\(digests.count == 1 ? "" : "s")" }
}
