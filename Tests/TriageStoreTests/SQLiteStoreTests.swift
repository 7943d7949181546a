import Foundation
import TestSupport
import Testing
import TriageCore
import TriageSQLite

/// What only the embedded store has to get right: one file shared by several processes.
@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("several processes opening one new file at once all open it, on one schema")
    func concurrentOpenersOfANewFile() async throws {
        // Two `triage work` processes started together on a new file once raced to create its tables.
        for round in 0..<10 {
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            let location = StoreLocation.sqliteFile(path: folder.path("new-\(round).sqlite"))
            let stores = try await withThrowingTaskGroup(of: SQLiteQueryStore.self) { group in
                for _ in 0..<6 {
                    group.addTask { try SQLiteQueryStore(location: location) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(stores.count == 6)
            let inserted = try await stores[0].insert([SupportQuery(text: "My invoice is wrong")])
            #expect(inserted.inserted == 1)
            #expect(try await stores[5].summary().count(.pending) == 1)
        }
    }
}
