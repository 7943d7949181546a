import Foundation
import TestSupport
import Testing
import TriageCore
import TriageIngest

@Suite("Import files")
struct QueryFileReaderTests {
    func parse(_ text: String, _ format: QueryFileFormat, file: String = "in") throws -> [SupportQuery] {
        try QueryFileReader.parse(Data(text.utf8), format: format, file: file)
    }

    @Test("a JSON array with every known field")
    func jsonArray() throws {
        let queries = try parse("""
            [{"text": "Where is my parcel?", "subject": "Late", "channel": "email", "customerId": 42,
              "externalId": "t-1", "createdAt": "2024-05-01T10:00:00Z", "metadata": {"plan": "pro", "seats": 3},
              "region": "EU", "vip": true, "status": "classified", "notes": null}]
            """, .json)
        let query = try #require(queries.first)
        #expect(query.text == "Where is my parcel?")
        #expect(query.subject == "Late")
        #expect(query.channel == "email")
        #expect(query.customerId == "42")
        #expect(query.externalId == "t-1")
        #expect(query.createdAt == Date(timeIntervalSince1970: 1_714_557_600))
        #expect(query.metadata == ["plan": "pro", "seats": "3", "region": "EU", "vip": "true"])
    }

    @Test("a repeated key or a NUL character is refused naming the file, line and field; other controls are kept")
    func repeatedKeysAndNUL() throws {
        let cases: [(String, QueryFileFormat, [String])] = [
            ("{\"text\": \"one\"}\n{\"text\": \"a\", \"text\": \"<b>\"}", .jsonl, ["in", "line 2, column 15", "text", "twice"]),
            (#"[{"text": "a", "metadata": {"k": "1", "k": "2"}}]"#, .json, ["in", "line 1", "'k'", "twice"]),
            (#"{"text": "a\u0000b nul byte"}"#, .jsonl, ["in", "line 1", "text", "NUL"]),
            ("text,subject\nfine,\"a\u{0}b\"\n", .csv, ["in", "line 2", "subject", "NUL"]),
        ]
        for (content, format, words) in cases {
            let error = #expect(throws: ImportError.self) { try parse(content, format) }
            for word in words {
                #expect(error?.description.contains(word) == true, "\(content): \(String(describing: error))")
            }
        }
        let kept = try parse(#"{"text": "a\u0001b\u007f\u2028 \ud83d\ude00"}"#, .jsonl)
        #expect(kept.first?.text == "a\u{1}b\u{7F}\u{2028} \u{1F600}")
    }

    @Test("JSON Lines with snake_case names, blank lines and Unix dates")
    func jsonLines() throws {
        let queries = try parse("""
            {"text": "one", "external_id": "a", "created_at": 1714557600}

            {"text": "two", "customer_id": "c-9"}
            """, .jsonl)
        #expect(queries.map(\.text) == ["one", "two"])
        #expect(queries[0].externalId == "a")
        #expect(queries[0].createdAt == Date(timeIntervalSince1970: 1_714_557_600))
        #expect(queries[1].customerId == "c-9")
    }

    @Test("CSV with quotes, commas and line breaks inside fields")
    func csv() throws {
        let queries = try parse("text,subject,externalId,tier\r\n\"Hi, my \"\"card\"\" failed\nagain\",Payment,x-1,gold\r\nsecond,,x-2,\n", .csv)
        #expect(queries.count == 2)
        #expect(queries[0].text == "Hi, my \"card\" failed\nagain")
        #expect(queries[0].subject == "Payment")
        #expect(queries[0].metadata == ["tier": "gold"])
        #expect(queries[1].subject == nil)
        #expect(queries[1].externalId == "x-2")
    }

    @Test("records without externalId get a stable one from their content")
    func fingerprint() throws {
        let first = try parse("[{\"text\": \"same\"}, {\"text\": \"other\"}]", .json)
        let second = try parse("{\"text\": \"same\"}\n", .jsonl)
        #expect(first[0].externalId == second[0].externalId)
        #expect(first[0].externalId?.hasPrefix("fp-") == true)
        #expect(first[0].externalId != first[1].externalId)
    }

    @Test("bad input names the file, the line or record, and the field", arguments: [
        ("[{\"text\": \"ok\"}, {\"text\": 42}]", QueryFileFormat.json, "in, record 2, field 'text': expected a string, found number"),
        ("[{\"text\": \"ok\"}, {\"subject\": \"x\"}]", .json, "in, record 2, field 'text': is missing"),
        ("{\"text\": \"ok\"}\n{\"text\": \"  \"}\n", .jsonl, "in, line 2, field 'text': must not be empty"),
        ("{\"text\": \"ok\"}\n{\"text\": \"a\" \"b\"}\n", .jsonl, "in, line 2: malformed JSON: invalid value at column 14"),
        ("{\"text\": \"ok\", \"createdAt\": \"yesterday\"}", .jsonl, "in, line 1, field 'createdAt': expected an ISO 8601 date"),
        ("{\"text\": \"ok\", \"tags\": [\"a\"]}", .jsonl, "in, line 1, field 'tags': unsupported value type array"),
        ("{\"text\": \"ok\", \"metadata\": {\"a\": {}}}", .jsonl, "in, line 1, field 'metadata.a'"),
        ("[1]", .json, "in, record 1: expected a JSON object, found number"),
        ("{\"a\": 1}", .json, "in, line 1, column 1: expected a JSON array"),
        ("[{\"text\": \"x\"", .json, "in, line 1, column 14: malformed JSON"),
        ("subject,body\nx,y\n", .csv, "in, line 1: the header row has no 'text' column"),
        ("text,subject\nok,x\nbad\n", .csv, "in, line 3: has 1 fields; the header has 2"),
        ("text\n\"never closed\n", .csv, "in, line 2: a quoted field is never closed"),
        ("[]", .json, "in: no queries found"),
    ])
    func badInput(text: String, format: QueryFileFormat, expected: String) {
        let error = #expect(throws: ImportError.self) { try parse(text, format) }
        #expect(error?.description.hasPrefix(expected) == true, "\(error?.description ?? "no error")")
    }

    @Test("a missing file is named")
    func missingFile() {
        let error = #expect(throws: ImportError.self) { try QueryFileReader.read(path: "/nonexistent/q.jsonl") }
        #expect(error?.description == "/nonexistent/q.jsonl: the file does not exist")
    }

    @Test("the format comes from the extension, else from the first character")
    func detection() {
        #expect(QueryFileFormat.detect(path: "a.csv", data: Data("[".utf8)) == .csv)
        #expect(QueryFileFormat.detect(path: "a.ndjson", data: Data()) == .jsonl)
        #expect(QueryFileFormat.detect(path: "a.txt", data: Data("  [".utf8)) == .json)
        #expect(QueryFileFormat.detect(path: "a.txt", data: Data("{".utf8)) == .jsonl)
        #expect(QueryFileFormat.detect(path: "a", data: Data("text\n".utf8)) == .csv)
    }
}

@Suite("Sample queries")
struct SampleQueriesTests {
    @Test("samples are varied, realistic and reproducible")
    func samples() {
        let now = Date()
        let queries = SampleQueries.generate(count: 300, seed: 9, now: now)
        #expect(queries.count == 300)
        #expect(Set(queries.map(\.externalId)).count == 300)
        #expect(Set(queries.map(\.text)).count > 250)
        #expect(Set(queries.compactMap(\.channel)).count == 4)
        #expect(queries.allSatisfy { !$0.text.contains("{") && !$0.text.isEmpty })
        #expect(SampleQueries.generate(count: 300, seed: 9, now: now) == queries)
        #expect(SampleQueries.generate(count: 5, seed: 10).map(\.text) != queries.prefix(5).map(\.text))
    }
}
