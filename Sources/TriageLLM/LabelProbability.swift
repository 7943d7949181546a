import Foundation

/// One generated token with its log-probability and the most likely alternatives at that position, as OpenAI's
/// `logprobs` (and llama.cpp's server) report them.
struct TokenLogprob: Sendable, Hashable {
    struct Alternative: Sendable, Hashable {
        var token: String
        var logprob: Double
    }

    var token: String
    var logprob: Double
    var alternatives: [Alternative]
}

/// The probability the model gave the label it chose, read from the answer's token log-probabilities.
///
/// A label is spelled over one or more tokens. At each of them, the probability mass of the candidates that still
/// spell the chosen label is divided by the mass of the candidates that spell any allowed label; the label's
/// probability is the product over its tokens. Renormalising over allowed labels matters: endpoints report the
/// model's distribution before a grammar or schema masks it, so mass on tokens no answer could contain says nothing
/// about which label is right. The alternatives are the top few only, so this slightly overstates the probability
/// of a label whose rivals fall outside them.
enum LabelProbability {
    /// - Parameters:
    ///   - value: The label the answer holds for `field`.
    ///   - allowed: Every label the field may take.
    /// - Returns: A probability in `0...1`, or `nil` when the tokens do not spell `"field": "value"`.
    static func of(_ value: String, field: String, allowed: [String], tokens: [TokenLogprob]) -> Double? {
        let text = tokens.map(\.token).joined()
        guard let valueStart = start(ofValueOf: field, in: text),
              text.utf8.dropFirst(valueStart).starts(with: value.utf8) else { return nil }
        // A candidate piece is judged by the label text it would make with what precedes it, closing quote included.
        let quoted = allowed.map { $0 + "\"" }
        func spells(_ labels: [String], _ candidate: String) -> Bool {
            labels.contains { $0.hasPrefix(candidate) || candidate.hasPrefix($0) }
        }
        var probability = 1.0
        var spelled = ""
        var offset = 0
        for token in tokens {
            let tokenStart = offset
            offset += token.token.utf8.count
            guard offset > valueStart else { continue }
            // Bytes of this token before the value (an opening quote sharing the token), which rivals must share.
            let lead = max(0, valueStart - tokenStart)
            let leadBytes = Array(token.token.utf8.prefix(lead))
            func piece(_ candidate: String) -> String? {
                guard candidate.utf8.starts(with: leadBytes) else { return nil }
                return String(decoding: candidate.utf8.dropFirst(lead), as: UTF8.self)
            }
            guard let chosen = piece(token.token) else { return nil }
            var agreeing = exp(token.logprob)
            var possible = agreeing
            for alternative in token.alternatives where alternative.token != token.token {
                guard let candidate = piece(alternative.token), !candidate.isEmpty else { continue }
                let p = exp(alternative.logprob)
                if spells([value + "\""], spelled + candidate) {
                    agreeing += p
                    possible += p
                } else if spells(quoted, spelled + candidate) {
                    possible += p
                }
            }
            probability *= possible > 0 ? agreeing / possible : 0
            spelled += chosen
            if spelled.utf8.count >= value.utf8.count { break }
        }
        return min(1, max(0, probability))
    }

    /// The byte offset where the string value of `"field":` starts, after its opening quote.
    private static func start(ofValueOf field: String, in text: String) -> Int? {
        let bytes = Array(text.utf8)
        let key = Array("\"\(field)\"".utf8)
        guard bytes.count > key.count else { return nil }
        for index in 0...(bytes.count - key.count) where bytes[index..<(index + key.count)].elementsEqual(key) {
            var position = index + key.count
            func skipSpace() { while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 } }
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { continue }
            position += 1
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { continue }
            return position + 1
        }
        return nil
    }
}
