import Foundation
import TriageCore

/// The labelled examples most like a query, ranked by BM25 over words. Built once per run and then only read, so
/// every slot shares it; no server, no embedding model.
///
/// Words are lower-cased runs of letters and digits. A lookup scores only the examples that share a word with the
/// query (through an inverted index), so it costs what the query's words occur in, not the size of the pool.
public struct ExampleIndex: Sendable {
    public let examples: [LabelledExample]
    private struct Posting: Sendable {
        var example: Int32
        var count: UInt16
    }

    private let postings: [String: [Posting]]
    private let lengths: [Float]
    private let averageLength: Float
    /// Each example's text as compared for "the query's own text" (lower-cased, spaces folded).
    private let normalized: [String]
    private let k1: Float = 1.2
    private let b: Float = 0.75

    public init(_ examples: [LabelledExample]) {
        self.examples = examples
        var postings: [String: [Posting]] = [:]
        var lengths: [Float] = []
        lengths.reserveCapacity(examples.count)
        for (index, example) in examples.enumerated() {
            let words = Self.words(example.text)
            lengths.append(Float(words.count))
            var counts: [String: Int] = [:]
            for word in words { counts[word, default: 0] += 1 }
            for (word, count) in counts {
                postings[word, default: []].append(Posting(example: Int32(index), count: UInt16(min(count, 65_535))))
            }
        }
        self.postings = postings
        self.lengths = lengths
        averageLength = lengths.isEmpty ? 1 : max(1, lengths.reduce(0, +) / Float(lengths.count))
        normalized = examples.map { Self.normalize($0.text) }
    }

    /// The `k` examples most like `text`, best first (ties in pool order), never one whose text is `text` itself,
    /// nor the example at `excluded` (an example answered from the others, as leave-one-out measures).
    public func nearest(to text: String, k: Int, excluding excluded: Int? = nil) -> [(example: LabelledExample, score: Double)] {
        nearest(words: Self.words(text), k: k, excluding: excluded)
    }

    /// ``nearest(to:k:excluding:)`` for a text already split by ``words(_:)``: a query's words are split once for
    /// every index and detector that reads them.
    func nearest(words: [String], k: Int, excluding excluded: Int? = nil) -> [(example: LabelledExample, score: Double)] {
        guard k > 0, !examples.isEmpty else { return [] }
        // One score per example, and the examples touched: an array beats a dictionary on long posting lists.
        var scores = [Float](repeating: 0, count: examples.count)
        var touched: [Int32] = []
        let total = Float(examples.count)
        for word in Set(words) {
            guard let list = postings[word] else { continue }
            let frequency = Float(list.count)
            let idf = log(1 + (total - frequency + 0.5) / (frequency + 0.5))
            for posting in list {
                let index = Int(posting.example)
                if scores[index] == 0 { touched.append(posting.example) }
                let count = Float(posting.count)
                let norm = k1 * (1 - b + b * lengths[index] / averageLength)
                scores[index] += idf * count * (k1 + 1) / (count + norm)
            }
        }
        // The query's own text, joined only to be compared with an example of exactly its length.
        let ownLength = words.reduce(max(0, words.count - 1)) { $0 + $1.utf8.count }
        var own: String?
        let ranked = touched.filter { index in
            guard Int(index) != excluded else { return false }
            let text = normalized[Int(index)]
            guard text.utf8.count == ownLength else { return true }
            if own == nil { own = words.joined(separator: " ") }
            return text != own
        }
            .map { (key: $0, value: scores[Int($0)]) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return ranked.prefix(k).map { (examples[Int($0.key)], Double($0.value)) }
    }

    /// What `text` would score against an example of exactly its own words: the most any example can score, the
    /// measure of how close the nearest one is.
    func selfScore(of words: [String]) -> Double {
        guard !words.isEmpty else { return 0 }
        var counts: [String: Int] = [:]
        for word in words { counts[word, default: 0] += 1 }
        let total = Float(examples.count)
        let norm = k1 * (1 - b + b * Float(words.count) / averageLength)
        var score: Float = 0
        for (word, count) in counts {
            let frequency = Float(postings[word]?.count ?? 0)
            let idf = log(1 + (total - frequency + 0.5) / (frequency + 0.5))
            score += idf * Float(count) * (k1 + 1) / (Float(count) + norm)
        }
        return Double(score)
    }

    static func words(_ text: String) -> [String] {
        // ASCII text, the common case, read as bytes: splitting by Character was most of a look-up's time.
        let bytes = text.utf8
        if bytes.allSatisfy({ $0 < 0x80 }) {
            let wordByte = { (byte: UInt8) in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
            return bytes.split { !wordByte($0) }.map { word in
                // Lower-cased as it is copied: one allocation per word.
                String(unsafeUninitializedCapacity: word.count) { buffer in
                    for (offset, byte) in word.enumerated() {
                        buffer[offset] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                    }
                    return word.count
                }
            }
        }
        return text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    private static func normalize(_ text: String) -> String {
        words(text).joined(separator: " ")
    }
}
