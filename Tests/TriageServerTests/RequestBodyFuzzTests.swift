import Hummingbird
import NIOCore
import TestSupport
import Testing
import TriageCore
@testable import TriageServer

/// Thousands of mutated valid bodies through the API's body decoding: never a crash or a hang, every refusal a 400
/// that says where (line, query or field), and a body either taken whole or refused whole.
@Suite("API bodies under fuzzing", .serialized, .timeLimit(.minutes(5)))
struct RequestBodyFuzzTests {
    static let ingestBodies: [(String, Bool)] = [
        (#"{"text": "Where is my parcel?", "subject": "Late", "externalId": "t-1", "metadata": {"plan": "pro"}}"#, false),
        (#"[{"text": "one", "createdAt": "2024-05-01T10:00:00Z"}, {"text": "two", "customerId": "c-9"}]"#, false),
        ("{\"text\": \"one\"}\n{\"text\": \"two\", \"channel\": \"chat\"}\n", true),
    ]
    static let runBody = #"{"batchSize": 5, "maxConcurrent": 2, "limit": 10, "webhook": "https://hooks.example.org/x"}"#

    func check(_ error: HTTPError, _ replay: String) {
        #expect(error.status == .badRequest, "\(replay): \(error.status)")
        let message = error.body ?? ""
        let says = ["line ", "field '", "query ", "no queries in the body"].contains { message.contains($0) }
        #expect(says, "\(replay): '\(message)' names no line, query or field")
    }

    @Test("mutated ingest and run bodies: taken whole, or a 400 saying where", arguments: [UInt64(11), 12, 13])
    func mutatedBodies(seed: UInt64) async {
        var mutator = Mutator(seed: seed)
        for iteration in 0..<400 {
            // Synchronous work: give the cooperative threads back, so that timed tests beside it are not starved.
            await Task.yield()
            for (index, (body, ndjson)) in Self.ingestBodies.enumerated() {
                let input = mutator.mutateBytes(Array(body.utf8))
                let replay = "seed \(seed), iteration \(iteration), body \(index)"
                do {
                    let queries = try QueriesController.queries(in: ByteBuffer(bytes: input), ndjson: ndjson)
                    #expect(!queries.isEmpty && queries.allSatisfy { !$0.text.allSatisfy(\.isWhitespace) }, "\(replay)")
                } catch let error as HTTPError {
                    check(error, replay)
                } catch {
                    Issue.record("\(replay): not an HTTPError: \(error)")
                }
            }
            let input = mutator.mutateBytes(Array(Self.runBody.utf8))
            do {
                _ = try TriageServer.RequestBody.decode(RunRequest.self, from: ByteBuffer(bytes: input))
            } catch let error as HTTPError {
                check(error, "seed \(seed), iteration \(iteration), run body")
            } catch {
                Issue.record("seed \(seed), iteration \(iteration), run body: \(error)")
            }
        }
    }
}
