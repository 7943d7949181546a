import Foundation
import TestSupport
import Testing
import TriageCore

@Suite("Taxonomy")
struct TaxonomyTests {
    @Test("the built-in taxonomy is valid and covers customer support")
    func builtinIsValid() throws {
        let taxonomy = Taxonomy.customerSupport
        try taxonomy.validate()
        #expect(taxonomy.categoryNames.contains("billing"))
        #expect(taxonomy.categoryNames.contains("other"))
        #expect(taxonomy.categoryNames.count == 10)
        #expect(taxonomy.priorityNames == ["low", "normal", "high", "urgent"])
        #expect(taxonomy.sentimentNames == ["negative", "neutral", "positive"])
    }

    @Test("the version is a hash of the content")
    func versionFollowsContent() {
        var changed = Taxonomy.customerSupport
        #expect(changed.version == Taxonomy.customerSupport.version)
        #expect(changed.version.count == 12)
        changed.categories[0].description = "Money matters."
        #expect(changed.version != Taxonomy.customerSupport.version)
    }

    @Test("a custom taxonomy loads from YAML and JSON")
    func loadsFiles() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let yaml = try folder.write("taxonomy.yaml", """
            name: saas
            categories:
              - name: bug
                description: Something is broken.
              - name: question
                description: How something works.
            priorities:
              - { name: p2, description: Whenever. }
              - { name: p1, description: Today. }
            sentiments:
              - { name: unhappy, description: Upset. }
              - { name: fine, description: Not upset. }
            """)
        let fromYAML = try Taxonomy.load(contentsOf: URL(fileURLWithPath: yaml))
        #expect(fromYAML.categoryNames == ["bug", "question"])
        let json = try folder.write("taxonomy.json", String(decoding: try JSONEncoder().encode(fromYAML), as: UTF8.self))
        #expect(try Taxonomy.load(contentsOf: URL(fileURLWithPath: json)) == fromYAML)
    }

    @Test("an invalid taxonomy file is refused with the file and the fault named", arguments: [
        ("missing.json", nil, "cannot read"),
        ("broken.json", "{\"name\": \"x\", \"categories\": [", "broken.json"),
        ("nodesc.yaml", "name: x\ncategories:\n  - name: a\npriorities: []\nsentiments: []\n", "field 'categories[0].description' is required"),
        ("empty.yaml", "name: x\ncategories: []\npriorities: []\nsentiments: []\n", "'categories' must list at least one label"),
        ("dup.yaml", "name: x\ncategories:\n  - {name: a, description: A.}\n  - {name: a, description: B.}\npriorities: [{name: p, description: P.}]\nsentiments: [{name: s, description: S.}]\n", "categories[1].name 'a' appears twice"),
        ("upper.yaml", "name: x\ncategories:\n  - {name: Billing, description: A.}\npriorities: [{name: p, description: P.}]\nsentiments: [{name: s, description: S.}]\n", "lower-case"),
    ] as [(String, String?, String)])
    func invalidFiles(name: String, contents: String?, expected: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        if let contents { try folder.write(name, contents) }
        let error = try #require(throws: TaxonomyError.self) {
            try Taxonomy.load(contentsOf: URL(fileURLWithPath: folder.path(name)))
        }
        #expect(error.message.contains(name))
        #expect(error.message.contains(expected))
    }
}
