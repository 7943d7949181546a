import Foundation
import Testing
import TriageCore
import TriageIngest

/// Expected labels in import files: every spelling, and the bad-input cases.
@Suite("Import files: expected labels")
struct QueryFileReaderLabelsTests {
    static let taxonomy = Taxonomy(
        name: "shop",
        categories: [.init("billing", "Money."), .init("delivery", "Parcels.")],
        priorities: [.init("low", "Low."), .init("high", "High.")],
        sentiments: [.init("neutral", "Neutral.")]
    )

    func parse(_ text: String, _ format: QueryFileFormat, taxonomy: Taxonomy? = nil) throws -> [SupportQuery] {
        try QueryFileReader.parse(Data(text.utf8), format: format, file: "in.jsonl", taxonomy: taxonomy)
    }

    @Test("nested, camelCase and snake_case spellings; none of them becomes metadata")
    func spellings() throws {
        let queries = try parse("""
            {"text": "a", "expected": {"category": "billing", "priority": "high", "sentiment": "neutral"}}
            {"text": "b", "expectedCategory": "delivery", "expectedPriority": " low "}
            {"text": "c", "expected_category": "billing", "expected_sentiment": "neutral"}
            {"text": "d", "expected": null, "expectedCategory": ""}
            """, .jsonl, taxonomy: Self.taxonomy)
        #expect(queries.map(\.expected) == [
            ExpectedLabels(category: "billing", priority: "high", sentiment: "neutral"),
            ExpectedLabels(category: "delivery", priority: "low"),
            ExpectedLabels(category: "billing", sentiment: "neutral"),
            nil,
        ])
        #expect(queries.allSatisfy { $0.metadata.isEmpty })
    }

    @Test("CSV columns and an export's flat fields read back as expected labels")
    func csvAndExport() throws {
        let queries = try parse("""
            text,expectedCategory,expected_priority,correctedCategory
            where is it,delivery,high,billing
            """, .csv)
        #expect(queries.first?.expected == ExpectedLabels(category: "delivery", priority: "high"))
        #expect(queries.first?.metadata == [:], "a correction in an export is not imported as anything")
    }

    @Test("bad expected labels name the line and the field", arguments: [
        (#"{"text": "a", "expected": "billing"}"#, "in.jsonl, line 1, field 'expected': expected an object"),
        (#"{"text": "a", "expected": {"category": 3}}"#, "in.jsonl, line 1, field 'expected.category': expected a string"),
        (#"{"text": "a", "expected": {"category": "refunds"}}"#,
         "in.jsonl, line 1, field 'expected.category': 'refunds' is not in the taxonomy (billing, delivery)"),
        (#"{"text": "a", "expectedPriority": "urgent"}"#,
         "in.jsonl, line 1, field 'expectedPriority': 'urgent' is not in the taxonomy (low, high)"),
    ])
    func badLabels(line: String, message: String) throws {
        do {
            _ = try parse(line, .jsonl, taxonomy: Self.taxonomy)
            Issue.record("accepted \(line)")
        } catch let error as ImportError {
            #expect(error.description.hasPrefix(message), "\(error)")
        }
    }

    @Test("without a taxonomy, any label is kept")
    func noTaxonomy() throws {
        let queries = try parse(#"{"text": "a", "expected": {"category": "anything_goes"}}"#, .jsonl)
        #expect(queries.first?.expected?.category == "anything_goes")
    }
}
