import Foundation
import TriageCore

/// The mock classifier's reading of a text: keyword scores over the taxonomy's labels.
struct KeywordRules: Sendable {
    struct Verdict {
        var category: String
        var priority: String
        var sentiment: String
        var language: String
        var confidence: Double
    }

    private static let categoryKeywords: [String: [String]] = [
        "billing": ["invoice", "bill", "billed", "charge", "charged", "plan", "subscription fee", "price", "vat",
                    "factura", "facture", "rechnung"],
        "payments": ["payment", "card", "declined", "paypal", "pay ", "transaction", "bank", "pago", "paiement",
                     "zahlung"],
        "account_access": ["login", "log in", "password", "2fa", "two-factor", " lock", "sign in", "hacked",
                           "verification code", "contraseña", "mot de passe", "passwort", "anmelden"],
        "orders_shipping": ["order", "delivery", "shipping", "tracking", "parcel", "package", "courier", "arrive",
                            "pedido", "envío", "commande", "livraison", "bestellung", "lieferung"],
        "returns_refunds": ["refund", "return", "exchange", "money back", "reembolso", "devolución",
                            "remboursement", "retour", "rückerstattung", "erstattung"],
        "technical_issue": ["error", "crash", "bug", "broken", "not working", "doesn't work", "outage", "slow",
                            " app ", "sync", " api ", "fehler", "erreur"],
        "product_question": ["how do i", "how can i", "does it", "is it possible", "compatible", "feature",
                             "support for", "available", "which model", "¿cómo", "comment"],
        "feedback_complaint": ["love", "great", "terrible", "awful", "suggestion", "complaint", "disappointed",
                               "thank you", "rude", "worst", "excellent", "would be great", "would be nice"],
        "cancellation": ["cancel", "cancellation", "close my account", "unsubscribe", "terminate",
                         "no longer need", "cancelar", "annuler", "kündigen"],
        "other": ["open position", "job", "hiring", "career", "partnership", "sponsor"],
    ]

    private static let urgentWords = ["urgent", "hacked", "fraud", "stolen", "lawyer", "legal action", "outage",
                                      "security", "immediately", "unauthorized", "asap", "dringend", "urgente"]
    private static let highWords = ["charged twice", "can't", "cannot", "blocked", "not working", "still",
                                    "angry", "again", "days", "lost", "never arrived", "wrong", "no puedo",
                                    "impossible"]
    private static let lowWords = ["suggestion", "wondering", "just curious", "feedback", "love",
                                   "would be nice", "question"]
    private static let negativeWords = ["angry", "terrible", "awful", "worst", "disappointed", "frustrated",
                                        "unacceptable", "ridiculous", "still", "never", "again", "hacked",
                                        "rude", "broken", "annoyed", "furious", "fraud"]
    // A closing "Thanks." is politeness, not praise: it makes a query neither positive nor low priority.
    private static let positiveWords = ["thank you so much", "great", "love", "excellent", "awesome",
                                        "appreciate", "happy", "perfect"]
    private static let languageMarkers: [(String, [String])] = [
        ("es", [" el ", " la ", " que ", " mi ", " no ", " por ", " para ", " pedido", " hola"]),
        ("fr", [" le ", " la ", " je ", " mon ", " ma ", " pas ", " est ", " bonjour", " pour "]),
        ("de", [" der ", " die ", " das ", " ich ", " nicht ", " mein", " ist ", " und ", " hallo"]),
        ("pt", [" o ", " não ", " meu ", " minha ", " para ", " obrigado", " olá"]),
        ("en", [" the ", " i ", " my ", " is ", " not ", " and ", " to ", " hello", " please"]),
    ]

    /// Every phrase the rules look for, found in one pass over a text.
    private let phrases: PhraseSet
    /// Per category, its keywords (weight 2) and the words of its description that are not already keywords (weight 1).
    private let categories: [(name: String, keywords: [Int], described: [Int])]
    private let urgent, high, low, negative, positive: [Int]
    private let doubleBang: Int
    private let languages: [(language: String, markers: [Int])]
    private let fallbackCategory: String
    private let priorities: [String]
    private let sentiments: [String]

    init(taxonomy: Taxonomy) {
        var phrases = PhraseSet.Builder()
        categories = taxonomy.categories.map { label in
            let keywords = Self.categoryKeywords[label.name] ?? []
            let described = Set(label.description.lowercased()
                .split(whereSeparator: { !$0.isLetter })
                .filter { $0.count >= 5 }
                .map(String.init))
                .subtracting(keywords)
                .sorted()
            return (label.name, phrases.add(keywords), phrases.add(described))
        }
        urgent = phrases.add(Self.urgentWords)
        high = phrases.add(Self.highWords)
        low = phrases.add(Self.lowWords)
        negative = phrases.add(Self.negativeWords)
        positive = phrases.add(Self.positiveWords)
        doubleBang = phrases.add(["!!"])[0]
        languages = Self.languageMarkers.map { ($0.0, phrases.add($0.1)) }
        self.phrases = PhraseSet(phrases)
        fallbackCategory = taxonomy.categoryNames.contains("other") ? "other" : taxonomy.categoryNames.last ?? "other"
        priorities = taxonomy.priorityNames
        sentiments = taxonomy.sentimentNames
    }

    func judge(_ rawText: String) -> Verdict {
        let found = phrases.found(in: " " + rawText.lowercased() + " ")
        func hits(_ phrases: [Int]) -> Int { phrases.reduce(0) { $0 + (found[$1] ? 1 : 0) } }

        var best = (name: fallbackCategory, score: 0)
        for category in categories {
            let score = 2 * hits(category.keywords) + hits(category.described)
            if score > best.score { best = (category.name, score) }
        }

        let priority: String
        if hits(urgent) > 0 {
            priority = pick(priorities, preferred: "urgent", rank: 3, of: 3)
        } else if hits(high) > 0 {
            priority = pick(priorities, preferred: "high", rank: 2, of: 3)
        } else if hits(low) > 0 {
            priority = pick(priorities, preferred: "low", rank: 0, of: 3)
        } else {
            priority = pick(priorities, preferred: "normal", rank: 1, of: 3)
        }

        // "!!" reads as upset; one "!" (as in "Thanks in advance!") does not.
        let mood = hits(positive) - hits(negative) - (found[doubleBang] ? 1 : 0)
        let sentiment: String
        if mood < 0 {
            sentiment = pick(sentiments, preferred: "negative", rank: 0, of: 2)
        } else if mood > 0 {
            sentiment = pick(sentiments, preferred: "positive", rank: 2, of: 2)
        } else {
            sentiment = pick(sentiments, preferred: "neutral", rank: 1, of: 2)
        }

        let markers = languages.map { (language: $0.language, hits: hits($0.markers)) }
        let language = markers.max { $0.hits < $1.hits }.map { $0.hits > 0 ? $0.language : "en" } ?? "en"
        let confidence = min(0.97, 0.55 + 0.06 * Double(min(best.score, 6)))
        return Verdict(category: best.name, priority: priority, sentiment: sentiment, language: language,
                       confidence: confidence)
    }

    /// The preferred label if the taxonomy has it, otherwise the label at a comparable rank.
    private func pick(_ labels: [String], preferred: String, rank: Int, of maxRank: Int) -> String {
        if labels.contains(preferred) { return preferred }
        guard !labels.isEmpty else { return preferred }
        let scaled = rank * (labels.count - 1) / maxRank
        return labels[min(scaled, labels.count - 1)]
    }
}

/// Phrases looked for in a text all at once: one pass over its bytes, trying at each position only the phrases whose
/// first two bytes fall in the same bucket as its own. (String.contains goes through NSString on Linux, and a search per phrase reads the text
/// a hundred times.)
struct PhraseSet: Sendable {
    /// Numbers phrases as they are added.
    struct Builder {
        fileprivate var phrases: [[UInt8]] = []

        /// Adds phrases (not empty); returns their numbers, which index ``PhraseSet/found(in:)``'s answer.
        mutating func add(_ words: [String]) -> [Int] {
            words.map { word in
                precondition(!word.utf8.isEmpty, "a phrase cannot be empty")
                phrases.append(Array(word.utf8))
                return phrases.count - 1
            }
        }
    }

    /// Every phrase's bytes, one after another: phrase `n` is `bytes[start[n] ..< start[n + 1]]`.
    private let bytes: [UInt8]
    private let start: [Int]
    /// The phrases whose first two bytes fall in bucket `b` (``bucket(_:_:)``) are
    /// `numbers[firstInBucket[b] ..< firstInBucket[b + 1]]`; one-byte phrases are listed by their byte in `oneByte`.
    private let firstInBucket: [Int32]
    private let numbers: [Int32]
    private let oneByte: [[Int]]

    init(_ builder: Builder) {
        bytes = builder.phrases.flatMap { $0 }
        start = builder.phrases.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        var buckets = [[Int32]](repeating: [], count: Self.bucketCount)
        var oneByte = [[Int]](repeating: [], count: 256)
        for (number, phrase) in builder.phrases.enumerated() {
            if phrase.count == 1 {
                oneByte[Int(phrase[0])].append(number)
            } else {
                buckets[Self.bucket(phrase[0], phrase[1])].append(Int32(number))
            }
        }
        numbers = buckets.flatMap { $0 }
        firstInBucket = buckets.reduce(into: [0]) { $0.append($0.last! + Int32($1.count)) }
        self.oneByte = oneByte
    }

    private static let bucketCount = 4_096

    private static func bucket(_ first: UInt8, _ second: UInt8) -> Int {
        (Int(first) << 5 ^ Int(second)) & (bucketCount - 1)
    }

    /// Which phrases occur in `text`, by number.
    func found(in text: String) -> [Bool] {
        var found = [Bool](repeating: false, count: start.count - 1)
        var text = text
        text.withUTF8 { text in
            for position in text.indices {
                for number in oneByte[Int(text[position])] { found[number] = true }
                guard position + 1 < text.count else { break }
                let bucket = Self.bucket(text[position], text[position + 1])
                for slot in Int(firstInBucket[bucket]) ..< Int(firstInBucket[bucket + 1]) {
                    let number = Int(numbers[slot])
                    let (from, length) = (start[number], start[number + 1] - start[number])
                    guard !found[number], length <= text.count - position else { continue }
                    var offset = 0
                    while offset < length, text[position + offset] == bytes[from + offset] { offset += 1 }
                    if offset == length { found[number] = true }
                }
            }
        }
        return found
    }
}
