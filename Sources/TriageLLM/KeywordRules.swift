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

    private static let urgentWords = bytes(["urgent", "hacked", "fraud", "stolen", "lawyer", "legal action", "outage",
                                      "security", "immediately", "unauthorized", "asap", "dringend", "urgente"])
    private static let highWords = bytes(["charged twice", "can't", "cannot", "blocked", "not working", "still",
                                    "angry", "again", "days", "lost", "never arrived", "wrong", "no puedo",
                                    "impossible"])
    private static let lowWords = bytes(["suggestion", "wondering", "just curious", "feedback", "love",
                                   "would be nice", "question"])
    private static let negativeWords = bytes(["angry", "terrible", "awful", "worst", "disappointed", "frustrated",
                                        "unacceptable", "ridiculous", "still", "never", "again", "hacked",
                                        "rude", "broken", "annoyed", "furious", "fraud"])
    // A closing "Thanks." is politeness, not praise: it makes a query neither positive nor low priority.
    private static let positiveWords = bytes(["thank you so much", "great", "love", "excellent", "awesome",
                                        "appreciate", "happy", "perfect"])
    private static let doubleBang = Array("!!".utf8)
    private static let languageMarkers: [(String, [[UInt8]])] = [
        ("es", bytes([" el ", " la ", " que ", " mi ", " no ", " por ", " para ", " pedido", " hola"])),
        ("fr", bytes([" le ", " la ", " je ", " mon ", " ma ", " pas ", " est ", " bonjour", " pour "])),
        ("de", bytes([" der ", " die ", " das ", " ich ", " nicht ", " mein", " ist ", " und ", " hallo"])),
        ("pt", bytes([" o ", " não ", " meu ", " minha ", " para ", " obrigado", " olá"])),
        ("en", bytes([" the ", " i ", " my ", " is ", " not ", " and ", " to ", " hello", " please"])),
    ]

    /// Per category, its keywords (weight 2) and the words of its description that are not already keywords (weight 1).
    private let categories: [(name: String, keywords: [[UInt8]], described: [[UInt8]])]
    private let fallbackCategory: String
    private let priorities: [String]
    private let sentiments: [String]

    private static func bytes(_ words: [String]) -> [[UInt8]] { words.map { Array($0.utf8) } }

    init(taxonomy: Taxonomy) {
        categories = taxonomy.categories.map { label in
            let keywords = Self.categoryKeywords[label.name] ?? []
            let described = Set(label.description.lowercased()
                .split(whereSeparator: { !$0.isLetter })
                .filter { $0.count >= 5 }
                .map(String.init))
                .subtracting(keywords)
                .sorted()
            return (label.name, Self.bytes(keywords), Self.bytes(described))
        }
        fallbackCategory = taxonomy.categoryNames.contains("other") ? "other" : taxonomy.categoryNames.last ?? "other"
        priorities = taxonomy.priorityNames
        sentiments = taxonomy.sentimentNames
    }

    func judge(_ rawText: String) -> Verdict {
        // A byte search rather than String.contains, which goes through NSString on Linux and is far slower: memchr
        // finds the needle's first byte that is not a space (spaces are everywhere), memcmp checks the rest.
        let text = Array((" " + rawText.lowercased() + " ").utf8)
        func contains(_ needle: [UInt8]) -> Bool {
            text.withUnsafeBytes { haystack in
                needle.withUnsafeBytes { needle in
                    guard let start = haystack.baseAddress, let pattern = needle.baseAddress, !needle.isEmpty,
                          needle.count <= haystack.count else { return false }
                    let anchor = needle.firstIndex { $0 != UInt8(ascii: " ") } ?? 0
                    let last = start + (haystack.count - needle.count)
                    var cursor = start + anchor
                    while cursor <= last + anchor,
                          let found = memchr(cursor, Int32(needle[anchor]), last + anchor + 1 - cursor) {
                        let candidate = UnsafeRawPointer(found) - anchor
                        if memcmp(candidate, pattern, needle.count) == 0 { return true }
                        cursor = UnsafeRawPointer(found) + 1
                    }
                    return false
                }
            }
        }
        func hits(_ words: [[UInt8]]) -> Int { words.reduce(0) { $0 + (contains($1) ? 1 : 0) } }

        var best = (name: fallbackCategory, score: 0)
        for category in categories {
            let score = 2 * hits(category.keywords) + hits(category.described)
            if score > best.score { best = (category.name, score) }
        }

        let priority: String
        if hits(Self.urgentWords) > 0 {
            priority = pick(priorities, preferred: "urgent", rank: 3, of: 3)
        } else if hits(Self.highWords) > 0 {
            priority = pick(priorities, preferred: "high", rank: 2, of: 3)
        } else if hits(Self.lowWords) > 0 {
            priority = pick(priorities, preferred: "low", rank: 0, of: 3)
        } else {
            priority = pick(priorities, preferred: "normal", rank: 1, of: 3)
        }

        // "!!" reads as upset; one "!" (as in "Thanks in advance!") does not.
        let mood = hits(Self.positiveWords) - hits(Self.negativeWords) - (contains(Self.doubleBang) ? 1 : 0)
        let sentiment: String
        if mood < 0 {
            sentiment = pick(sentiments, preferred: "negative", rank: 0, of: 2)
        } else if mood > 0 {
            sentiment = pick(sentiments, preferred: "positive", rank: 2, of: 2)
        } else {
            sentiment = pick(sentiments, preferred: "neutral", rank: 1, of: 2)
        }

        let markers = Self.languageMarkers.map { (language: $0.0, hits: hits($0.1)) }
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
