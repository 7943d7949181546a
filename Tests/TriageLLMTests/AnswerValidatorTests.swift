import Foundation
import Testing
import TriageCore
@testable import TriageLLM

@Suite("Checking a model's answer")
struct AnswerValidatorTests {
    let validator = AnswerValidator(taxonomy: .customerSupport)

    func answer(category: String = "billing", language: String = "en", summary: String = "Charged twice.") -> String {
        let fields: [String: JSONValue] = [
            "category": .string(category), "priority": .string("High "), "sentiment": .string("negative"),
            "language": .string(language), "confidence": .number(0.8), "summary": .string(summary),
        ]
        return String(decoding: try! JSONEncoder().encode(JSONValue.object(fields)), as: UTF8.self)
    }

    @Test("labels are read whatever their case, spacing, hyphens or surrounding white space")
    func labelsNormalised() throws {
        for spelling in ["orders_shipping", "Orders Shipping", " orders-shipping\n", "\u{00A0}ORDERS-shipping\t"] {
            let checked = try validator.validate(answer(category: spelling))
            #expect(checked.category == "orders_shipping", "\(spelling.debugDescription)")
            #expect(checked.priority == "high")
        }
        #expect(throws: ValidationProblems.self) { try validator.validate(answer(category: "orders shipping!")) }
    }

    @Test("a language is an ISO 639 code, with a region or script if any", arguments: [
        ("en", true), (" EN ", true), ("pt-BR", true), ("zh-hant", true), ("es-419", true), ("yue", true),
        ("e", false), ("engl", false), ("en-", false), ("en-b", false), ("en-toolong", false), ("en-US-x", false),
        ("e1", false), ("", false), ("fr_FR", false), ("é", false),
    ])
    func languageCodes(code: String, valid: Bool) throws {
        if valid {
            #expect(try validator.validate(answer(language: code)).language == code.trimmingWhitespace.lowercased())
        } else {
            #expect(throws: ValidationProblems.self) { try validator.validate(answer(language: code)) }
        }
    }

    @Test("the summary is trimmed of white space of every kind, and an answer inside prose is found")
    func summaryAndObject() throws {
        #expect(try validator.validate(answer(summary: "\n\u{2003} Charged twice. \r\n")).summary == "Charged twice.")
        let prose = "Sure! Here it is:\n```json\n" + answer() + "\n```\n"
        #expect(try validator.validate(prose).category == "billing")
        #expect(throws: ValidationProblems.self) { try validator.validate(answer(summary: " \n ")) }
    }
}
