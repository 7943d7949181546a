import Foundation
import Testing
import TriageCore
@testable import TriageLLM

@Suite("Checking a model's answer")
struct AnswerValidatorTests {
    let validator = AnswerValidator(taxonomy: .customerSupport)

    func answer(_ fields: [String: JSONValue] = [:]) -> String {
        var all: [String: JSONValue] = [
            "category": .string("billing"), "priority": .string("High "), "sentiment": .string("negative"),
            "summary": .string("Charged twice."),
        ]
        all.merge(fields) { $1 }
        return String(decoding: try! JSONEncoder().encode(JSONValue.object(all)), as: UTF8.self)
    }

    @Test("labels are read whatever their case, spacing, hyphens or surrounding white space")
    func labelsNormalised() throws {
        for spelling in ["orders_shipping", "Orders Shipping", " orders-shipping\n", "\u{00A0}ORDERS-shipping\t"] {
            let checked = try validator.validate(answer(["category": .string(spelling)]))
            #expect(checked.category == "orders_shipping", "\(spelling.debugDescription)")
            #expect(checked.priority == "high")
            #expect(checked.fieldProblems.isEmpty)
        }
        #expect(throws: ValidationProblems.self) {
            try validator.validate(answer(["category": .string("orders shipping!?")]))
        }
    }

    @Test("a wrong side field is dropped and recorded; the answer is kept")
    func sideFieldDropped() throws {
        let checked = try validator.validate(answer(["priority": .string("whenever"), "sentiment": .number(3)]))
        #expect(checked.category == "billing")
        #expect(checked.priority == "")
        #expect(checked.sentiment == "")
        #expect(checked.fieldProblems.count == 2)
        #expect(checked.fieldProblems.contains { $0.hasPrefix("priority 'whenever' is not one of") })
        #expect(checked.fieldProblems.contains { $0.contains("'sentiment' must be a string") })
    }

    @Test("the language a model volunteers is not read, and never costs the answer")
    func languageIgnored() throws {
        let checked = try validator.validate(answer(["language": .string("English")]))
        #expect(checked.category == "billing")
        #expect(checked.fieldProblems.isEmpty)
    }

    @Test("a field the taxonomy requires makes a wrong answer a repair; category is always required")
    func requiredFields() throws {
        var taxonomy = Taxonomy.customerSupport
        taxonomy.required = [.priority]
        try taxonomy.validate()
        let strict = AnswerValidator(taxonomy: taxonomy)
        #expect(throws: ValidationProblems.self) { try strict.validate(answer(["priority": .string("whenever")])) }
        #expect(try strict.validate(answer()).priority == "high")
        #expect(throws: ValidationProblems.self) { try validator.validate(answer(["category": .null])) }
        taxonomy.required = [.language]
        #expect(throws: TaxonomyError.self) { try taxonomy.validate() }
    }

    @Test("a confidence is read when asked: percentages and numbers in strings normalised, nonsense dropped",
          arguments: [
              (JSONValue.number(0.8), 0.8, false), (.number(85), 0.85, true), (.string("0.7"), 0.7, true),
              (.string("90%"), 0.9, true), (.number(1), 1.0, false),
          ])
    func confidenceRead(value: JSONValue, expected: Double, normalised: Bool) throws {
        let checked = try validator.validate(answer(["confidence": value]), asksConfidence: true)
        #expect(checked.confidence == expected)
        #expect(checked.fieldProblems.isEmpty == !normalised)
    }

    @Test("an unreadable confidence is dropped; a confidence not asked for is not read")
    func confidenceDropped() throws {
        for value in [JSONValue.string("high"), .number(-1), .number(250)] {
            let checked = try validator.validate(answer(["confidence": value]), asksConfidence: true)
            #expect(checked.confidence == nil)
            #expect(checked.fieldProblems.count == 1)
        }
        let unasked = try validator.validate(answer(["confidence": .string("high")]))
        #expect(unasked.confidence == nil)
        #expect(unasked.fieldProblems.isEmpty)
    }

    @Test("the summary is trimmed of white space of every kind, and an answer inside prose is found")
    func summaryAndObject() throws {
        #expect(try validator.validate(answer(["summary": .string("\n\u{2003} Charged twice. \r\n")])).summary
            == "Charged twice.")
        let prose = "Sure! Here it is:\n```json\n" + answer() + "\n```\n"
        #expect(try validator.validate(prose).category == "billing")
        // Not required: an empty summary is recorded, the label kept.
        let empty = try validator.validate(answer(["summary": .string(" \n ")]))
        #expect(empty.category == "billing")
        #expect(empty.fieldProblems == ["'summary' must be a non-empty string; dropped"])
        #expect(throws: ValidationProblems.self) { try validator.validate("no json here") }
    }
}

@Suite("Finding a query's language")
struct LanguageDetectorTests {
    @Test("by common words for Latin script, by script otherwise", arguments: [
        ("I was charged twice for my order, please help", "en"),
        ("refund order 1234", "en"),
        ("Hola, me cobraron dos veces el pedido y quiero que me devuelvan el dinero", "es"),
        ("Bonjour, je n'ai pas reçu ma commande et je voudrais être remboursé", "fr"),
        ("Hallo, ich habe meine Bestellung nicht bekommen und möchte mein Geld zurück", "de"),
        ("Olá, não recebi o meu pedido e quero o dinheiro de volta", "pt"),
        ("Ciao, non ho ricevuto il mio ordine e vorrei un rimborso", "it"),
        ("Здравствуйте, мне дважды списали деньги за заказ", "ru"),
        ("注文した商品がまだ届いていません", "ja"),
        ("我的订单还没有到", "zh"),
        ("주문한 상품이 도착하지 않았습니다", "ko"),
        ("Γεια σας, δεν έλαβα την παραγγελία μου", "el"),
    ])
    func languages(text: String, code: String) {
        #expect(LanguageDetector.language(of: text) == code)
    }
}
