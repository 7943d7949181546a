import Foundation
import Testing
import TriageCore
@testable import TriageLLM

@Suite("The mock's phrase search")
struct PhraseSetTests {
    @Test("finds exactly the phrases a search for each one finds, wherever they are, whatever their bytes")
    func findsWhatContainsFinds() {
        var random = SeededGenerator(seed: 5)
        let alphabet = ["a", "b", "ab", " ", "é", "!", "ü", "ß", "x"]
        func text(_ count: Int) -> String {
            (0..<count).map { _ in alphabet.randomElement(using: &random)! }.joined()
        }
        let phrases = (0..<60).map { _ in text(Int.random(in: 1...4, using: &random)) } + ["!!", " ab ", "a"]
        var builder = PhraseSet.Builder()
        let numbers = builder.add(phrases)
        let set = PhraseSet(builder)
        for _ in 0..<300 {
            let haystack = text(Int.random(in: 0...40, using: &random))
            let found = set.found(in: haystack)
            for (phrase, number) in zip(phrases, numbers) {
                let bytes = Array(haystack.utf8), needle = Array(phrase.utf8)
                let expected = bytes.count >= needle.count
                    && (0...(bytes.count - needle.count)).contains { Array(bytes[$0 ..< $0 + needle.count]) == needle }
                #expect(found[number] == expected, "\(phrase.debugDescription) in \(haystack.debugDescription)")
            }
        }
    }
}
