import Foundation
import Logging
import Testing
import TestSupport
import TriageCore
import TriageSQLite
@testable import TriageProcessor

/// Results written in groups: every caller learns its own result's fate.
@Suite("Grouped result writes")
struct GroupedWritesTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func classification() -> Classification {
        Classification(category: "billing", priority: "high", sentiment: "negative", language: "en", confidence: 0.8,
                       summary: "s", model: "m", taxonomyVersion: "v")
    }

    @Test("two claims of one query in one group: the stale one is refused, the current one lands")
    func twoClaimsOfOneQuery() async throws {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        _ = try await store.insert(sampleQueries(1))
        let stale = try #require(try await store.claim(limit: 1, owner: "w", leaseFor: .zero, now: Date()).first)
        let current = try #require(try await store.claim(limit: 1, owner: "w", leaseFor: .seconds(60),
                                                         now: Date().addingTimeInterval(1)).first)
        #expect(stale.id == current.id)
        let access = StoreAccess(store: store, configuration: BatchProcessor.Configuration(), logger: Self.silent)
        let outcome = ResultWrite.Outcome.classified(classification())
        let lost = try await access.write([
            ResultWrite(id: stale.id, token: stale.lease!.token, outcome: outcome),
            ResultWrite(id: current.id, token: current.lease!.token, outcome: outcome),
        ], giveUp: { false })
        #expect(lost == [true, false])
        #expect(try await store.find(current.id)?.status == .classified)
    }

    @Test("results landing while a group is written go together in the next, each answered")
    func manyCallers() async throws {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        _ = try await store.insert(sampleQueries(200))
        let claimed = try await store.claim(limit: 200, owner: "w", leaseFor: .seconds(60), now: Date())
        let access = StoreAccess(store: store, configuration: BatchProcessor.Configuration(), logger: Self.silent)
        let writer = access.resultWriter(giveUp: { false })
        let lost = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, record) in claimed.enumerated() {
                // Every tenth token is wrong: those, and only those, are refused.
                let token = index % 10 == 0 ? "not-the-lease" : record.lease!.token
                group.addTask {
                    try await writer(ResultWrite(id: record.id, token: token, outcome: .classified(classification())))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(lost == 20)
        #expect(try await store.summary().count(.classified) == 180)
    }
}
