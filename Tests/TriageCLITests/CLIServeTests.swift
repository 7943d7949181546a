import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// `triage serve` as an operator runs it: a process that takes queries over HTTP and stops cleanly on SIGTERM.
@Suite("triage serve")
struct CLIServeTests {
    func request(_ method: String, _ url: String, body: String? = nil, key: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 5
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0,
                                                String(decoding: data ?? Data(), as: UTF8.self)))
            }.resume()
        }
    }

    @Test("ingest over HTTP with workers, then SIGTERM mid-work: exit 0 within the grace period, nothing processing")
    func serveAndStop() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = "sqlite:\(folder.path("serve.sqlite"))"
        // Port 0: the server picks a free port and says which, so no other test can take it in between.
        let server = try TriageBinary.start(
            ["serve", "--workers", "--mock-llm", "--mock-latency-ms", "300", "--store", store, "--port", "0",
             "--max-concurrent", "8", "--grace-seconds", "5"],
            environment: ["TRIAGE_API_KEYS": "cli-key-1"]
        )
        let listening = await eventually(timeout: .seconds(60)) {
            server.stderrSoFar.contains("Serving ") || !server.isRunning
        }
        let announced = server.stderrSoFar
        let port = try #require(announced.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)/).map { String($0.1) },
                                "serve did not start: \(announced)")
        #expect(listening)
        let base = "http://127.0.0.1:\(port)"
        #expect(await eventually { (try? await request("GET", base + "/healthz").0) == 200 })
        #expect(try await request("GET", base + "/v1/stats").0 == 401)
        let queries = (1...300).map { #"{"text": "query \#($0): I was charged twice"}"# }.joined(separator: ",")
        let ingest = try await request("POST", base + "/v1/queries", body: "[\(queries)]", key: "cli-key-1")
        #expect(ingest.0 == 201, "\(ingest.1)")
        #expect(try await eventually { try await TriageBinary.statusCounts(store: store)["classified", default: 0] >= 8 })

        let signalled = ContinuousClock.now
        server.signal(SIGTERM)
        let result = try await server.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - signalled < .seconds(12))
        #expect(result.status == 0, "\(result.stderr)")
        let byStatus = try await TriageBinary.statusCounts(store: store)
        #expect(byStatus["processing", default: 0] == 0)
        #expect(byStatus["classified", default: 0] + byStatus["pending", default: 0] == 300)
        #expect(!(result.stdout + result.stderr).contains("cli-key-1"))
    }
}
