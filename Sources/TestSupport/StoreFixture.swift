import Foundation
import TriageCore
import TriageSQLite

/// Every kind of store the contract suite runs against. A new store adds a case here and passes the same suite.
public enum StoreFixture: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqliteMemory
    case sqliteFile

    public var description: String { rawValue }

    /// An empty store, and a second handle on the same data (another connection, as another process would have).
    public func make() throws -> OpenedStore {
        switch self {
        case .sqliteMemory:
            let store = try SQLiteQueryStore(location: .sqliteMemory)
            return OpenedStore(store: store, peer: store, cleanup: {})
        case .sqliteFile:
            let folder = try TemporaryDirectory()
            let location = StoreLocation.sqliteFile(path: folder.path("store.sqlite"))
            return OpenedStore(
                store: try SQLiteQueryStore(location: location),
                peer: try SQLiteQueryStore(location: location),
                cleanup: { folder.remove() }
            )
        }
    }
}

/// A store opened for one test, with what it takes to clean up after it.
public struct OpenedStore: Sendable {
    public let store: any QueryStore
    /// Another handle on the same data; the same object where the store has no separate connections.
    public let peer: any QueryStore
    public let cleanup: @Sendable () -> Void
}

extension StoreFixture {
    /// Runs `body` with a fresh store and cleans up afterwards, whatever happens.
    public func withStore(_ body: (OpenedStore) async throws -> Void) async throws {
        let opened = try make()
        defer { opened.cleanup() }
        try await body(opened)
    }
}

/// Builds test queries with distinct texts and external ids.
public func sampleQueries(_ count: Int, prefix: String = "query") -> [SupportQuery] {
    (1...max(count, 1)).prefix(count).map { index in
        SupportQuery(text: "\(prefix) \(index): my order has not arrived", externalId: "\(prefix)-\(index)")
    }
}
