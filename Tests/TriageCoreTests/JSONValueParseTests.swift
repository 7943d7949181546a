import Foundation
import Testing
import TriageCore

/// The fast parser that imports use must read every JSON text exactly as `JSONDecoder` does, and leave what it
/// refuses to `JSONDecoder` (which says what is wrong).
@Suite("JSONValue's fast parser")
struct JSONValueParseTests {
    static let texts = [
        #"{"text": "Where is my order?", "externalId": "q1", "customerId": 42}"#,
        #"{"a": 1.0, "b": 1e3, "c": -0, "d": 1.5, "e": 12345678901234567890, "f": 0.1e1, "g": -2.0E2}"#,
        #"{"s": "tab\tnew\nline \"quoted\" back\\slash \/ \u00e9 \ud83d\ude00 é 😀", "t": true, "f": false, "n": null}"#,
        #"  [1, [2, [3, {"x": []}]], {}, ""]  "#,
        #"{"dup": 1, "dup": 2}"#,
        #"{"text": "  "}"#,
        #"{"text": "¿Dónde está mi pedido?", "metadata": {"tier": "gold", "seats": 12}}"#,
        // Refused by both, or by the fast parser alone (JSONDecoder then decides).
        #"{"text": "unterminated}"#, #"{"a": 01}"#, #"{"a": 1,}"#, #"{"a" 1}"#, "[1, 2", #"{"a": tru}"#,
        #"{"a": "\ud800"}"#, #"{"a": "\x"}"#, "{\"a\": \"raw\u{01}control\"}", "1 2", "", "nul", #"{"a": -}"#,
        #"{"a": 1.}"#, #"{"a": .5}"#, #"{"a": 1e}"#, #"{"a": 1e999}"#,
    ]

    @Test("every text reads as JSONDecoder reads it, or is left to JSONDecoder", arguments: texts)
    func agreesWithJSONDecoder(text: String) {
        let data = Data(text.utf8)
        let expected = try? JSONDecoder().decode(JSONValue.self, from: data)
        if let parsed = JSONValue.parse(data) {
            #expect(parsed == expected)
        } else {
            // Refusing what JSONDecoder accepts only costs speed; the valid samples above must all parse.
            #expect(Self.texts.firstIndex(of: text)! > 6 || expected == nil)
        }
    }

    @Test("the valid samples parse without JSONDecoder")
    func validSamplesParse() {
        for text in Self.texts.prefix(7) { #expect(JSONValue.parse(Data(text.utf8)) != nil, "\(text)") }
    }
}
