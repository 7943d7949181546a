import Foundation
import Hummingbird
import Logging
import Testing
import TestSupport
import TriageCore
@testable import TriageServer
import TriageSQLite

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("documents exactly the routes the router has")
    func documentMatchesRouter() throws {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        let configuration = ServerConfiguration()
        let dependencies = ServerDependencies(store: store, classifier: ScriptedClassifier())
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let runs = RunManager(store: store, classifier: dependencies.classifier, configuration: configuration,
                              metrics: dependencies.metrics, logger: logger)
        let router = buildRouter(configuration: configuration, dependencies: dependencies, runs: runs, logger: logger)
        let routed = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })

        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })

        #expect(routed.count >= 14)
        #expect(routed.subtracting(documented).isEmpty, "routes missing from the document: \(routed.subtracting(documented))")
        #expect(documented.subtracting(routed).isEmpty, "documented routes that do not exist: \(documented.subtracting(routed))")
    }
}
