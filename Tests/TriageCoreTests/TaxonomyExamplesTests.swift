import Foundation
import TestSupport
import Testing
import TriageCore

/// Labelled examples carried in a taxonomy file.
@Suite("Taxonomy examples")
struct TaxonomyExamplesTests {
    static let head = """
        name: shop
        categories: [{name: billing, description: Money.}, {name: delivery, description: Parcels.}]
        priorities: [{name: low, description: Low.}]
        sentiments: [{name: neutral, description: Neutral.}]

        """

    @Test("examples load with the taxonomy, and change its version")
    func load() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let plain = try Taxonomy.load(contentsOf: URL(fileURLWithPath: try folder.write("plain.yaml", Self.head)))
        let url = URL(fileURLWithPath: try folder.write("taxonomy.yaml", Self.head + """
            examples:
              - {text: "where is my parcel", category: delivery}
              - {text: "I was charged twice", category: billing, priority: low}
            """))
        let taxonomy = try Taxonomy.load(contentsOf: url)
        #expect(taxonomy.examples == [LabelledExample(text: "where is my parcel", category: "delivery"),
                                      LabelledExample(text: "I was charged twice", category: "billing", priority: "low")])
        #expect(plain.examples == nil)
        #expect(taxonomy.version != plain.version)
    }

    @Test("an example with a label outside the taxonomy, or no text, is refused naming the example and the field",
          arguments: [
              (#"- {text: "x", category: refunds}"#, "examples[0].category': 'refunds' is not in the taxonomy"),
              (#"- {text: "x", category: billing, priority: urgent}"#, "examples[0].priority': 'urgent'"),
              (#"- {text: " ", category: billing}"#, "examples[0].text must not be empty"),
          ])
    func refused(line: String, message: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let url = URL(fileURLWithPath: try folder.write("taxonomy.yaml", Self.head + "examples:\n  " + line + "\n"))
        do {
            _ = try Taxonomy.load(contentsOf: url)
            Issue.record("accepted \(line)")
        } catch let error as TaxonomyError {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.message.hasPrefix(url.path))
        }
    }
}
