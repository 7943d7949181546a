import Foundation
import TestSupport
import TriageCore
import TriageMongo
import TriageSQLite

/// Every kind of store the contract suite runs against. A new store adds a case here and passes the same suite.
public enum StoreFixture: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqliteMemory
    case sqliteFile
    /// ``MongoQueryStore`` through libmongoc: against the server `MONGODB_URI` names (in a database of its own,
    /// dropped afterwards) or, without it, a ``MongoTestServer`` started for the test.
    case mongo

    public var description: String { rawValue }

    /// An empty store, and a second handle on the same data (another connection, as another process would have).
    public func make() async throws -> OpenedStore {
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
        case .mongo:
            let target = try await MongoTarget.make()
            let configuration = MongoQueryStore.Configuration(uri: target.uri, database: target.database)
            let store = try await MongoQueryStore(configuration: configuration)
            let peer = try await MongoQueryStore(configuration: configuration)
            return OpenedStore(store: store, peer: peer, cleanup: {
                if target.server == nil { try? await store.drop() }
                await store.close()
                await peer.close()
                target.server?.stop()
            })
        }
    }
}

/// Where a MongoDB test runs: the real server `MONGODB_URI` names, or a test server of its own.
public struct MongoTarget: Sendable {
    /// A connection string (database chosen separately).
    public let uri: String
    /// A database no other test uses.
    public let database: String
    /// The test server, when there is no `MONGODB_URI`.
    public let server: MongoTestServer?

    public static func make() async throws -> MongoTarget {
        let database = "triage_test_" + UUID().uuidString.prefix(8).lowercased()
        if let uri = ProcessInfo.processInfo.environment["MONGODB_URI"], !uri.isEmpty {
            return MongoTarget(uri: uri, database: database, server: nil)
        }
        let server = try await MongoTestServer()
        return MongoTarget(uri: server.uri(database: database), database: database, server: server)
    }
}

/// A store opened for one test, with what it takes to clean up after it.
public struct OpenedStore: Sendable {
    public let store: any QueryStore
    /// Another handle on the same data; the same object where the store has no separate connections.
    public let peer: any QueryStore
    public let cleanup: @Sendable () async -> Void
}

extension StoreFixture {
    /// Runs `body` with a fresh store and cleans up afterwards, whatever happens.
    public func withStore(_ body: (OpenedStore) async throws -> Void) async throws {
        let opened = try await make()
        do {
            try await body(opened)
        } catch {
            await opened.cleanup()
            throw error
        }
        await opened.cleanup()
    }
}

extension StoreFixture {
    /// The stores the processor's tests run against: the embedded default and MongoDB.
    public static let processorCases: [StoreFixture] = [.sqliteMemory, .mongo]

    /// Runs `body` with a fresh store holding `count` sample queries, and cleans up afterwards.
    public func withBacklog(_ count: Int, _ body: (any QueryStore) async throws -> Void) async throws {
        try await withStore { opened in
            _ = try await opened.store.insert(sampleQueries(count))
            try await body(opened.store)
        }
    }
}
