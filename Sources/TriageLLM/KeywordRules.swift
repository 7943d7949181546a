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
        var phrases = PhraseSet()
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
        self.phrases = phrases
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

/// Phrases looked for in a text all at once: one pass over its bytes, trying at each position only the phrases that
/// start with its byte. (String.contains goes through NSString on Linux, and a search per phrase reads the text a
/// hundred times.)
struct PhraseSet: Sendable {
    private var phrases: [[UInt8]] = []
    /// Per first byte, the phrases that start with it.
    private var startingWith = [[Int]](repeating: [], count: 256)

    /// Adds phrases (not empty); returns their numbers, which index ``found(in:)``'s answer.
    mutating func add(_ words: [String]) -> [Int] {
        words.map { word in
            let bytes = Array(word.utf8)
            precondition(!bytes.isEmpty, "a phrase cannot be empty")
            phrases.append(bytes)
            startingWith[Int(bytes[0])].append(phrases.count - 1)
            return phrases.count - 1
        }
    }

    /// Which phrases occur in `text`, by number.
    func found(in text: String) -> [Bool] {
        var found = [Bool](repeating: false, count: phrases.count)
        var text = text
        text.withUTF8 { text in
            for start in text.indices {
                for number in startingWith[Int(text[start])] where !found[number] {
                    let phrase = phrases[number]
                    guard phrase.count <= text.count - start else { continue }
                    var matched = true
                    for offset in 1..<phrase.count where text[start + offset] != phrase[offset] {
                        matched = false
                        break
                    }
                    if matched { found[number] = true }
                }
            }
        }
        return found
    }
}
