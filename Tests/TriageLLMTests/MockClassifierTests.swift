import Foundation
import Testing
import TriageCore
import TriageIngest
import TriageLLM

@Suite("Mock classifier")
struct MockClassifierTests {
    /// What a person would answer for each sample template, by subject.
    static let expectedCategory: [String: String] = [
        "Charged twice this month": "billing", "Invoice question": "billing", "Price went up": "billing",
        "Factura incorrecta": "billing",
        "Card declined": "payments", "PayPal payment failed": "payments", "Paiement refusé": "payments",
        "Can't log in": "account_access", "Account hacked!!": "account_access",
        "2FA code not working": "account_access", "Passwort vergessen": "account_access",
        "Where is my order?": "orders_shipping", "Wrong delivery address": "orders_shipping",
        "Package marked delivered": "orders_shipping", "¿Dónde está mi pedido?": "orders_shipping",
        "Lieferung verspätet": "orders_shipping",
        "Refund not received": "returns_refunds", "Return request": "returns_refunds",
        "Demande de remboursement": "returns_refunds",
        "App crashes on start": "technical_issue", "Sync not working": "technical_issue",
        "Everything is down?": "technical_issue", "API returns errors": "technical_issue",
        "Is it compatible?": "product_question", "How do I export data?": "product_question",
        "Feature question": "product_question",
        "Great support": "feedback_complaint", "Very disappointed": "feedback_complaint",
        "Suggestion": "feedback_complaint",
        "Cancel my subscription": "cancellation", "Close my account": "cancellation", "Cancelar pedido": "cancellation",
        "Job application": "other", "Partnership": "other",
    ]

    func classify(_ query: SupportQuery) async throws -> Classification {
        try await MockClassifier().classify(ClassificationRequest(id: QueryID("q"), query: query, attempt: 1))
    }

    @Test("reads every sample query as a person would: the category of its template")
    func samplesGetTheirCategory() async throws {
        let queries = SampleQueries.generate(count: 600, seed: 3)
        #expect(Set(queries.compactMap(\.subject)) == Set(Self.expectedCategory.keys))
        for query in queries {
            let result = try await classify(query)
            #expect(result.category == Self.expectedCategory[query.subject ?? ""], "\(query.text)")
            let taxonomy = Taxonomy.customerSupport
            #expect(taxonomy.priorityNames.contains(result.priority) && taxonomy.sentimentNames.contains(result.sentiment))
            #expect((0.5...0.97).contains(result.confidence))
        }
    }

    @Test("a closing thanks is politeness: neither praise, nor upset, nor a reason for low priority")
    func politenessIsNotPraise() async throws {
        let plain = SupportQuery(text: "My card keeps getting declined at checkout.", subject: "Card declined")
        var polite = plain
        for closing in [" Thanks.", " Thanks in advance!"] {
            polite.text = plain.text + closing
            let (a, b) = (try await classify(plain), try await classify(polite))
            #expect(b.sentiment == a.sentiment && b.priority == a.priority)
            #expect(b.sentiment == "neutral", "\(polite.text)")
        }
        let praise = try await classify(SupportQuery(text: "Thank you so much, the help I got was excellent!"))
        #expect(praise.sentiment == "positive" && praise.category == "feedback_complaint")
        let hacked = try await classify(SupportQuery(text: "Someone hacked my account, lock it immediately!"))
        #expect(hacked.category == "account_access" && hacked.priority == "urgent" && hacked.sentiment == "negative")
    }

    @Test("an ASCII text is summarised byte by byte exactly as any other text is character by character")
    func asciiSummaryMatchesTheCharacterRule() async throws {
        // The first sentence has a letter, so a non-ASCII letter after it changes no summary, only the reading.
        var random = SeededGenerator(seed: 11)
        let pieces = ["a", "Bc", " ", "  ", "\t", "\n", "\r\n", "\n\n", "!", "?", ".", "word", "x y"]
        func text(_ count: Int, from pieces: [String]) -> String {
            (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
        }
        for _ in 0..<400 {
            let first = text(Int.random(in: 0...60, using: &random), from: pieces.filter { !".!?".contains($0) })
                + "z" + text(Int.random(in: 0...8, using: &random), from: [" ", "\t", "q"])
            let ascii = first + "." + text(Int.random(in: 0...10, using: &random), from: pieces)
            let bytes = try await classify(SupportQuery(text: ascii)).summary
            let characters = try await classify(SupportQuery(text: ascii + " é")).summary
            #expect(bytes == characters, "\(ascii.debugDescription)")
        }
        #expect(try await classify(SupportQuery(text: "\n  Where is\r\nmy order?! Thanks.")).summary
                == "Where is my order")
        #expect(try await classify(SupportQuery(text: String(repeating: "long ", count: 30))).summary
                == String(String(repeating: "long ", count: 16).prefix(79)) + "…")
    }
}
