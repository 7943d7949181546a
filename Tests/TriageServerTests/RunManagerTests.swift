import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestSupport
import TriageCore
import TriageProcessor
@testable import TriageServer
import TriageSQLite

@Suite("RunManager")
struct RunManagerTests {
    @Test("a run accepted as shutdown begins is started, recorded and stopped; shutdown does not wait out its grace period")
    func acceptedRunsStartDuringShutdown() async throws {
        var acceptedInAll = 0
        for _ in 0..<3 {
            let store = try SQLiteQueryStore(location: .sqliteMemory)
            var configuration = ServerConfiguration()
            // Far longer than a loaded CI machine needs to start and stop 50 empty runs (up to 30 s seen), so that
            // waiting it out cannot pass for a slow machine.
            configuration.gracePeriod = .seconds(180)
            configuration.maxActiveRuns = 1000
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let runs = RunManager(store: store, classifier: ScriptedClassifier(), configuration: configuration,
                                  metrics: TriageMetrics(), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [runs], logger: logger))
            let started = ContinuousClock.now
            let accepted = try await withThrowingTaskGroup(of: [String].self) { tasks in
                tasks.addTask { try await group.run(); return [] }
                try await Task.sleep(for: .milliseconds(100))
                // Shutdown begins while clients are still being answered 202.
                await group.triggerGracefulShutdown()
                var ids: [String] = []
                for _ in 0..<50 {
                    guard let id = try? runs.start(processor: configuration.processor, webhook: nil) else { break }
                    ids.append(id)
                }
                try await tasks.waitForAll()
                return ids
            }
            #expect(ContinuousClock.now - started < .seconds(90), "shutdown waited out its grace period for runs that never started")
            var unrecorded = 0
            for id in accepted where try await store.run(id)?.state != .cancelled { unrecorded += 1 }
            #expect(unrecorded == 0, "\(unrecorded) of \(accepted.count) accepted runs never started")
            acceptedInAll += accepted.count
        }
        #expect(acceptedInAll > 0, "no run was accepted after shutdown was triggered: the race was not exercised")
    }
}
