import Foundation

/// A query's language as an ISO 639-1 code, found in-process: by its script where the script says it (Cyrillic,
/// Greek, Arabic, Hebrew, Devanagari, Thai, Hangul, Kana, Han), and for Latin script by the language whose common
/// words (and letters) it uses most. The model is not asked: a small one answered "English" or "eng" where a code was
/// wanted, and lost the query's answer for it.
///
/// Support queries are short and often have few common words ("refund order 1234"): Latin text with no evidence for
/// any language is English, the language most support text is in.
enum LanguageDetector {
    /// The query's language, `en` when nothing says otherwise.
    /// - Parameter words: `text` split by ``ExampleIndex/words(_:)``, when the caller has split it already.
    static func language(of text: String, words split: [String]? = nil) -> String {
        var scores = [Double](repeating: 0, count: languages.count)
        let words: [String]
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII, the common case: Latin script, no distinctive letters; words split and lower-cased as bytes.
            words = split ?? ExampleIndex.words(text)
        } else {
            var script: [String: Int] = [:]
            var letters = 0
            for scalar in text.unicodeScalars {
                // An ASCII letter is Latin and distinctive of nothing: only the rest need Unicode's properties.
                if scalar.isASCII {
                    if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(UInt8(scalar.value) | 0x20) { letters += 1 }
                    continue
                }
                guard scalar.properties.isAlphabetic else { continue }
                letters += 1
                if let language = scriptLanguage(scalar.value) { script[language, default: 0] += 1 }
                if let language = distinctive[scalar] { scores[language] += 0.6 }
            }
            if let found = Self.script(script, letters: letters, text: text) { return found }
            words = split ?? ExampleIndex.words(text)
        }
        for word in words {
            for language in commonWords[word] ?? [] { scores[language] += 1 }
        }
        // The highest score, ties to the code first in alphabetical order; English unless another beats it.
        var best = english
        for index in scores.indices where scores[index] > scores[best] { best = index }
        return languages[best]
    }

    /// The language a non-Latin script stands for, when most letters are in it.
    private static func script(_ counts: [String: Int], letters: Int, text: String) -> String? {
        guard letters > 0 else { return nil }
        // Kana anywhere makes Han text Japanese.
        if counts["ja", default: 0] > 0, counts["ja", default: 0] + counts["zh", default: 0] >= letters / 2 { return "ja" }
        guard let (language, count) = counts.max(by: { $0.value < $1.value }), count * 2 >= letters else { return nil }
        if language == "ru", text.unicodeScalars.contains(where: { "їєіґ".unicodeScalars.contains($0) }) { return "uk" }
        return language
    }

    private static func scriptLanguage(_ value: UInt32) -> String? {
        switch value {
        case 0x0400...0x04FF: "ru"
        case 0x0370...0x03FF: "el"
        case 0x0600...0x06FF: "ar"
        case 0x0590...0x05FF: "he"
        case 0x0900...0x097F: "hi"
        case 0x0E00...0x0E7F: "th"
        case 0xAC00...0xD7AF, 0x1100...0x11FF: "ko"
        case 0x3040...0x30FF: "ja"
        case 0x4E00...0x9FFF: "zh"
        default: nil
        }
    }

    /// Letters only some languages use (lower and upper case), and the language each is evidence for.
    private static let distinctive: [Unicode.Scalar: Int] = {
        var letters: [Unicode.Scalar: Int] = [:]
        for (list, language) in distinctiveLetters {
            for scalar in (list + list.uppercased()).unicodeScalars { letters[scalar] = languages.firstIndex(of: language)! }
        }
        return letters
    }()

    private static let distinctiveLetters: [(String, String)] = [
        ("ñ¿¡", "es"), ("ß", "de"), ("ãõ", "pt"), ("ąęłńśźż", "pl"), ("řůě", "cs"), ("ğış", "tr"), ("ăș", "ro"),
        ("őű", "hu"), ("åø", "no"), ("æ", "da"),
    ]

    /// Frequent words of each language (function words, and support's own: order, invoice, refund, help).
    private static let lists: [String: String] = [
        "en": """
            the and to of a in is it i you my for on this that with was have not be are can me please hi hello \
            thanks thank order refund help account how what when where why would could want need get do does am \
            your our we there been has had will just from about card payment delivery invoice cancel
            """,
        "es": """
            el la los las de que y en un una es por para con no mi me mis su al lo como pero más hola gracias \
            quiero necesito pedido factura ayuda cuenta tarjeta pago envío cancelar dónde cuándo puedo
            """,
        "fr": """
            le la les de des du et en un une est pour pas que qui je mon ma mes vous votre avec sur ne bonjour \
            merci commande facture aide compte carte paiement livraison annuler où quand puis veux
            """,
        "de": """
            der die das und ist nicht ich mein meine mit für auf ein eine zu den dem sie wir haben hallo danke \
            bitte bestellung rechnung hilfe konto karte zahlung lieferung stornieren wo wann kann möchte
            """,
        "it": """
            il lo la gli le di che e è un una per non mi mio mia con sono del della ciao grazie ordine fattura \
            aiuto conto carta pagamento consegna annullare dove quando posso voglio
            """,
        "pt": """
            o os as de que e é um uma para não meu minha com do da em por olá obrigado obrigada pedido fatura \
            ajuda conta cartão pagamento entrega cancelar onde quando posso quero
            """,
        "nl": """
            de het een en is niet ik mijn met voor op van dat zijn wij hallo bedankt alstublieft bestelling \
            factuur hulp rekening kaart betaling levering annuleren waar wanneer kan wil
            """,
        "sv": """
            och att det som en är inte jag min mitt med för på av hej tack beställning faktura hjälp konto kort \
            betalning leverans avbryta var när kan vill
            """,
        "da": "og at det som en er ikke jeg min mit med for på af hej tak bestilling faktura hjælp konto kort",
        "no": "og at det som en er ikke jeg min mitt med for på av hei takk bestilling faktura hjelp konto kort",
        "fi": "ja on ei minä minun se että kanssa hei kiitos tilaus lasku apua tili kortti maksu toimitus",
        "pl": "i w nie jest się na do że z to mój moja dzień dobry dziękuję zamówienie faktura pomoc konto karta",
        "cs": "a je se na v že to s z jsem můj moje dobrý den děkuji objednávka faktura pomoc účet karta platba",
        "tr": "ve bir bu için ile değil ben benim merhaba teşekkürler sipariş fatura yardım hesap kart ödeme",
        "ro": "și în nu este de la că cu un o eu meu mea bună mulțumesc comanda factura ajutor cont card plată",
        "hu": "és a az nem van hogy egy én az én szia köszönöm rendelés számla segítség fiók kártya fizetés",
    ]

    /// Each common word and the languages it belongs to.
    /// The languages scored, in alphabetical order (the order ties are broken in), as indices into ``languages``.
    private static let languages: [String] = Set(lists.keys).union(distinctiveLetters.map(\.1)).sorted()
    private static let english = languages.firstIndex(of: "en")!

    private static let commonWords: [String: [Int]] = {
        var words: [String: [Int]] = [:]
        for (language, list) in lists {
            let index = languages.firstIndex(of: language)!
            for word in list.split(separator: " ") where !word.isEmpty {
                words[String(word), default: []].append(index)
            }
        }
        return words
    }()
}
