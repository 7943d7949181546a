import Foundation
import TestSupport
import Testing
import TriageCore
import TriageIngest

/// Thousands of mutated valid files through the import readers: never a crash or a hang, every error an
/// ``ImportError`` naming the file and where in it, and a file either read whole or refused whole.
@Suite("Import readers under fuzzing", .serialized, .timeLimit(.minutes(5)))
struct QueryFileReaderFuzzTests {
    static let valid: [(QueryFileFormat, String)] = [
        (.json, """
            [{"text": "Where is my parcel?", "subject": "Late", "externalId": "t-1", "createdAt": "2024-05-01T10:00:00Z"},
             {"text": "Refund please", "customerId": 42, "metadata": {"plan": "pro", "seats": 3}, "vip": true},
             {"text": "App crashes on start", "channel": "chat", "created_at": 1714557600}]
            """),
        (.jsonl, """
            {"text": "Where is my parcel?", "subject": "Late", "externalId": "t-1"}
            {"text": "Refund please", "customer_id": "c-9", "metadata": {"plan": "pro"}}

            {"text": "App crashes on start", "createdAt": "2024-05-01"}
            """),
        (.csv, #"""
            text,subject,externalId,createdAt
            Where is my parcel?,Late,t-1,2024-05-01T10:00:00Z
            "Refund, please","Said ""now""",t-2,1714557600
            App crashes on start,,t-3,

            """#),
    ]

    /// Seeds: change one to explore, keep it to replay.
    static let seeds: [UInt64] = [1, 2, 3]

    @Test("mutated bytes: an error names the file and the line or record, or the whole file reads", arguments: seeds)
    func mutatedBytes(seed: UInt64) async {
        var mutator = Mutator(seed: seed)
        for iteration in 0..<250 {
            // Synchronous work: give the cooperative threads back, so that timed tests beside it are not starved.
            await Task.yield()
            for (format, text) in Self.valid {
                let input = mutator.mutateBytes(Array(text.utf8))
                let replay = "seed \(seed), iteration \(iteration), \(format)"
                do {
                    let queries = try QueryFileReader.parse(Data(input), format: format, file: "fuzz.\(format)")
                    #expect(!queries.isEmpty && queries.allSatisfy { !$0.text.allSatisfy(\.isWhitespace) }, "\(replay)")
                } catch let error as ImportError {
                    #expect(error.description.hasPrefix("fuzz.\(format)"), "\(replay)")
                    #expect(error.location != nil || error.message == "no queries found",
                            "\(replay): \(error) names no line or record")
                    if error.field != nil { #expect(error.location != nil, "\(replay)") }
                } catch {
                    Issue.record("\(replay): not an ImportError: \(error)")
                }
            }
        }
    }

    @Test("a wrong value in any field: the error names its line or record and the field", arguments: seeds)
    func wrongValues(seed: UInt64) async {
        var mutator = Mutator(seed: seed)
        let fields = ["text", "subject", "channel", "customerId", "externalId", "createdAt", "metadata"]
        for iteration in 0..<250 {
            // Synchronous work: give the cooperative threads back, so that timed tests beside it are not starved.
            await Task.yield()
            let field = fields[mutator.int(in: 0...(fields.count - 1))]
            var value = mutator.wrongValue()
            // Numbers are fine for ids; null is fine for an optional field, an object for metadata.
            if ["customerId", "externalId", "createdAt"].contains(field) && (value == "42" || value == "1.5") {
                value = "[1, 2]"
            }
            if field != "text" && value == "null" { value = "[1, 2]" }
            if field == "metadata" && value.hasPrefix("{") { value = "7" }
            if !["text", "metadata"].contains(field) && (value == #""""# || value == #""   ""#) { value = "[1, 2]" }
            let broken = #"{"text": "fine", "\#(field)": \#(value)}"#
            let position = mutator.int(in: 0...2)
            var records = [#"{"text": "first"}"#, #"{"text": "second"}"#, #"{"text": "third"}"#]
            records[position] = broken.replacingOccurrences(of: #""text": "fine", "text""#, with: #""text""#)
            let replay = "seed \(seed), iteration \(iteration): \(records[position])"
            for (format, input, place) in [(QueryFileFormat.json, "[" + records.joined(separator: ",\n") + "]",
                                            "record \(position + 1)"),
                                           (.jsonl, records.joined(separator: "\n"), "line \(position + 1)")] {
                let error = #expect(throws: ImportError.self, "\(replay)") {
                    try QueryFileReader.parse(Data(input.utf8), format: format, file: "f")
                }
                #expect(error?.location == place, "\(replay): \(String(describing: error))")
                #expect(error?.field?.hasPrefix(field) == true, "\(replay): \(String(describing: error))")
            }
        }
    }
}
