import Foundation
import Logging
import MongoTestSupport
import TestSupport
import Testing
import TriageCore
import TriageMongo
import TriageProcessor

/// A run rides out a MongoDB outage: it pauses, resumes when the server is back, and marks nothing failed for it.
/// Always against a test server of its own, since the test takes the server down.
@Suite("MongoDB outage during a run")
struct MongoOutageTests {
    @Test("the server gone for seconds mid-run: the run pauses, resumes and classifies everything, none failed")
    func runSurvivesOutage() async throws {
        let server = try await MongoTestServer()
        defer { server.stop() }
        let store = try await MongoQueryStore(configuration: .init(
            uri: server.uri(database: "support", options: "serverSelectionTimeoutMS=1000&connectTimeoutMS=1000")
        ))
        _ = try await store.insert(sampleQueries(300))
        let classifier = ScriptedClassifier { _ in .succeed(after: .milliseconds(20)) }
        var configuration = BatchProcessor.Configuration()
        configuration.batchSize = 20
        configuration.maxConcurrent = 8
        configuration.storeRetryPolicy = RetryPolicy(base: .milliseconds(100), maximum: .milliseconds(500))
        let processor = BatchProcessor(store: store, classifier: classifier, configuration: configuration,
                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        async let finished = processor.run()

        #expect(await eventually { classifier.callCount >= 60 })
        try await server.goDown()
        let callsWhenDown = classifier.callCount
        try await Task.sleep(for: .seconds(4))
        // Paused: at most what was already claimed went on to the classifier while the server was away.
        #expect(classifier.callCount <= callsWhenDown + configuration.batchSize + configuration.maxConcurrent)
        try await server.comeBack()

        let run = try await finished
        #expect(run.state == .completed)
        #expect(run.statistics.classified == 300)
        #expect(run.statistics.failed == 0)
        #expect(run.statistics.errorsByKind.isEmpty)
        #expect(try await store.summary().byStatus == ["classified": 300])
        let all = try await store.list(QueryFilter(), after: nil, limit: 1000)
        #expect(all.count == 300)
        #expect(all.allSatisfy { $0.status == .classified && $0.lastError == nil })
        await store.close()
    }
}
