import Foundation
import Testing
import TriageCore
import TriageIngest

@Suite("ExampleFileReader")
struct ExampleFileReaderTests {
    @Test("reads text and labels from JSONL and CSV; other fields are ignored")
    func reads() throws {
        let jsonl = """
            {"externalId": "dev-1", "text": "review for your company", "category": "feedback", "intent": "review"}
            {"text": "refund please", "category": "refund", "priority": "high", "sentiment": "negative"}
            """
        let examples = try ExampleFileReader.parse(Data(jsonl.utf8), format: .jsonl, file: "ex.jsonl")
        #expect(examples == [
            LabelledExample(text: "review for your company", category: "feedback"),
            LabelledExample(text: "refund please", category: "refund", priority: "high", sentiment: "negative"),
        ])
        let csv = "text,category\n\"charged twice, again\",billing\n"
        #expect(try ExampleFileReader.parse(Data(csv.utf8), format: .csv, file: "ex.csv")
            == [LabelledExample(text: "charged twice, again", category: "billing")])
    }

    @Test("bad examples are named by file, line and field, like bad imports", arguments: [
        ("{\"category\": \"billing\"}", QueryFileFormat.jsonl, "ex, line 1, field 'text': is missing"),
        ("{\"text\": \"  \", \"category\": \"billing\"}", .jsonl, "ex, line 1, field 'text': must not be empty"),
        ("{\"text\": \"hi\"}\n", .jsonl, "ex, line 1, field 'category': is missing"),
        ("{\"text\": \"a\", \"category\": \"billing\"}\n{\"text\": \"b\", \"category\": 3}", .jsonl,
         "ex, line 2, field 'category': expected a string, found number"),
        ("{\"text\": \"a\", \"category\": \"weather\"}", .jsonl, "ex, line 1, field 'category': 'weather' is not in the taxonomy"),
        ("text,category\nhello\n", .csv, "ex, line 2: has 1 fields; the header has 2"),
        ("", .jsonl, "ex: no examples found"),
    ])
    func badInput(input: String, format: QueryFileFormat, message: String) {
        do {
            _ = try ExampleFileReader.parse(Data(input.utf8), format: format, file: "ex", taxonomy: .customerSupport)
            Issue.record("accepted: \(input)")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
    }

    @Test("the pool's version changes with any example's content, not with nothing")
    func version() {
        let pool = [LabelledExample(text: "a", category: "billing")]
        #expect(pool.contentVersion == [LabelledExample(text: "a", category: "billing")].contentVersion)
        #expect(pool.contentVersion != [LabelledExample(text: "a", category: "refund")].contentVersion)
        #expect(pool.contentVersion.count == 12)
    }
}
