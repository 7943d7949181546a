import Testing
import TriageCore
@testable import TriageLLM

@Suite("ExampleIndex")
struct ExampleIndexTests {
    static let pool = [
        LabelledExample(text: "I was charged twice for my subscription", category: "billing"),
        LabelledExample(text: "Please refund my last payment", category: "refund"),
        LabelledExample(text: "Where is my order? It has not arrived", category: "delivery"),
        LabelledExample(text: "How do I change my delivery address", category: "shipping_address"),
        LabelledExample(text: "My order arrived damaged", category: "delivery"),
        LabelledExample(text: "the the the the", category: "noise"),
    ]

    @Test("ranks by shared words, rarer words counting more, best first")
    func ranking() {
        let index = ExampleIndex(Self.pool)
        let nearest = index.nearest(to: "my order has still not arrived", k: 3)
        #expect(nearest.first?.example.text == "Where is my order? It has not arrived")
        #expect(nearest.map(\.example.category).prefix(2) == ["delivery", "delivery"])
        #expect(nearest.map(\.score) == nearest.map(\.score).sorted(by: >))
        #expect(index.nearest(to: "charged twice", k: 1).first?.example.category == "billing")
        #expect(index.nearest(to: "zebra quantum", k: 3).isEmpty, "nothing shares a word")
        #expect(index.nearest(to: "refund", k: 0).isEmpty)
    }

    @Test("a query is never its own example, whatever its case or punctuation")
    func neverItself() {
        let index = ExampleIndex(Self.pool)
        let nearest = index.nearest(to: "please REFUND my last payment!", k: 5)
        #expect(!nearest.contains { $0.example.text == "Please refund my last payment" })
        #expect(nearest.first?.example.category != "refund")
    }

    @Test("k caps the answer; an empty pool answers nothing; ties keep pool order")
    func limits() {
        let index = ExampleIndex(Self.pool)
        #expect(index.nearest(to: "my", k: 2).count == 2)
        #expect(ExampleIndex([]).nearest(to: "my order", k: 4).isEmpty)
        let twins = ExampleIndex([LabelledExample(text: "lost card", category: "a"),
                                  LabelledExample(text: "lost card", category: "b")])
        #expect(twins.nearest(to: "card lost again", k: 2).map(\.example.category) == ["a", "b"])
    }

    @Test("ASCII text is split into words byte by byte exactly as any other text is character by character")
    func asciiWordsMatchTheCharacterRule() {
        var random = SeededGenerator(seed: 9)
        let pieces = ["a", "Zq", "09", " ", "\t", "\r\n", "'", "-", "_", "@", "[", "`", "{", "~", "^", "Order", "x1"]
        for _ in 0..<400 {
            let text = (0..<Int.random(in: 0...30, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            // A trailing non-ASCII word sends the text the character way, and adds only itself.
            #expect(ExampleIndex.words(text) == Array(ExampleIndex.words(text + " é").dropLast()), "\(text.debugDescription)")
        }
    }
}
