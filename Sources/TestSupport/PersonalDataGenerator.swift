import TriageCore

/// Seeded support queries carrying personal values in several countries' formats, each value recorded with its
/// kind, and look-alike queries that carry none (order and tracking numbers, dates, amounts, versions, product
/// codes). For measuring the redactor: what it catches, and what it marks that is not personal. Generated, not
/// copied from any data set.
public struct PersonalDataGenerator {
    /// One generated query and the personal values in it (kind names as the redactor's placeholders use them).
    public struct Sample: Sendable {
        public var text: String
        public var values: [(kind: String, value: String)]
    }

    private var random: SeededGenerator

    public init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    /// `count` queries with personal values, then `negatives` without.
    public mutating func samples(count: Int, negatives: Int) -> [Sample] {
        (0..<count).map { _ in sample() } + (0..<negatives).map { _ in lookAlike() }
    }

    // MARK: - Locales

    enum Locale: CaseIterable { case gb, us, de, fr, nl, es, it, pl }

    static let firstNames: [Locale: [String]] = [
        .gb: ["Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Callum", "Niamh", "Rhys", "Siobhan"],
        .us: ["James", "Emily", "Michael", "Madison", "Tyler", "Brianna", "DeShawn", "Kayla", "Cody", "Jasmine"],
        .de: ["Jürgen", "Sabine", "Lukas", "Anja", "Florian", "Heike", "Moritz", "Birgit", "Tobias", "Wiebke"],
        .fr: ["Élodie", "Mathieu", "Camille", "Guillaume", "Aurélie", "Thierry", "Manon", "Benoît", "Inès", "Gaël"],
        .nl: ["Daan", "Femke", "Joost", "Saskia", "Thijs", "Lotte", "Wouter", "Maaike", "Bram", "Anouk"],
        .es: ["Javier", "Lucía", "Álvaro", "Nuria", "Sergio", "Pilar", "Raúl", "Noelia", "Iker", "Ainhoa"],
        .it: ["Giuseppe", "Chiara", "Lorenzo", "Giulia", "Matteo", "Federica", "Davide", "Alessia", "Simone", "Ilaria"],
        .pl: ["Łukasz", "Agnieszka", "Krzysztof", "Małgorzata", "Paweł", "Zofia", "Mateusz", "Katarzyna", "Wojciech", "Ewa"],
    ]
    static let lastNames: [Locale: [String]] = [
        .gb: ["Smith", "Jones", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Roberts", "O'Neill"],
        .us: ["Johnson", "Williams", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Anderson", "Jackson", "Lee"],
        .de: ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann"],
        .fr: ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
        .nl: ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "Mulder"],
        .es: ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz"],
        .it: ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"],
        .pl: ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak"],
    ]
    static let towns: [Locale: [(String, String)]] = [
        .gb: [("London", "SW1A 1AA"), ("Manchester", "M1 1AE"), ("Leeds", "LS1 4DY"), ("Bristol", "BS1 5TR")],
        .us: [("Springfield, IL", "62704"), ("Austin, TX", "78701"), ("Portland, OR", "97205"), ("Boston, MA", "02110")],
        .de: [("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095"), ("Köln", "50667")],
        .fr: [("Paris", "75001"), ("Lyon", "69002"), ("Marseille", "13001"), ("Toulouse", "31000")],
        .nl: [("Amsterdam", "1017 GC"), ("Utrecht", "3511 AB"), ("Rotterdam", "3011 AD"), ("Den Haag", "2511 CV")],
        .es: [("Madrid", "28013"), ("Barcelona", "08002"), ("Sevilla", "41004"), ("Valencia", "46002")],
        .it: [("Roma", "00184"), ("Milano", "20121"), ("Torino", "10121"), ("Napoli", "80133")],
        .pl: [("Warszawa", "00-001"), ("Kraków", "31-042"), ("Gdańsk", "80-831"), ("Poznań", "61-772")],
    ]
    static let streets: [Locale: [String]] = [
        .gb: ["Baker Street", "High Street", "Station Road", "Church Lane", "Victoria Avenue"],
        .us: ["Main Street", "Oak Avenue", "Maple Drive", "Elm St", "Sunset Blvd"],
        .de: ["Hauptstraße", "Bahnhofstraße", "Lindenweg", "Schillerplatz", "Gartenstraße"],
        .fr: ["rue de Rivoli", "avenue Victor Hugo", "boulevard Haussmann", "rue de la Paix", "place Bellecour"],
        .nl: ["Kerkstraat", "Dorpsstraat", "Molenweg", "Prinsengracht", "Stationsplein"],
        .es: ["Calle Mayor", "Avenida de la Constitución", "Calle Alcalá", "Paseo del Prado", "Plaza Mayor"],
        .it: ["Via Roma", "Via Garibaldi", "Corso Vittorio Emanuele", "Piazza Navona", "Viale Europa"],
        .pl: ["ul. Marszałkowska", "ul. Długa", "ul. Floriańska", "ul. Piotrkowska", "al. Jerozolimskie"],
    ]

    // MARK: - Values

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func digits(_ count: Int) -> String {
        String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &random))) })
    }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    mutating func name(_ locale: Locale) -> String {
        pick(Self.firstNames[locale]!) + " " + pick(Self.lastNames[locale]!)
    }

    mutating func email(_ locale: Locale) -> String {
        let first = Self.ascii(pick(Self.firstNames[locale]!)), last = Self.ascii(pick(Self.lastNames[locale]!))
        let domain = pick(["example.com", "mail.example.org", "example.co.uk", "beispiel.de", "exemple.fr",
                           "voorbeeld.nl", "ejemplo.es", "esempio.it", "przyklad.pl"])
        let local = pick(["\(first).\(last)", "\(first)\(Int.random(in: 1...99, using: &random))", "\(first.prefix(1))\(last)",
                          "\(first)_\(last)+orders"])
        return (chance(0.1) ? local.uppercased() : local) + "@" + domain
    }

    static func ascii(_ text: String) -> String {
        let map: [Character: String] = ["ü": "u", "ö": "o", "ä": "a", "é": "e", "è": "e", "ê": "e", "á": "a",
                                        "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ł": "l", "ś": "s", "ń": "n",
                                        "ć": "c", "ż": "z", "ź": "z", "ą": "a", "ę": "e", "ß": "ss", "ë": "e",
                                        "î": "i", "ï": "i", "'": "", " ": ""]
        return text.lowercased().map { map[$0] ?? String($0) }.joined()
    }

    mutating func phone(_ locale: Locale) -> String {
        let number: String
        switch locale {
        case .gb: number = pick(["+44 20 7946 0\(digits(3))", "020 7946 0\(digits(3))", "+44 7700 900\(digits(3))",
                                 "07700 900\(digits(3))"])
        case .us: number = pick(["(555) \(digits(3))-\(digits(4))", "555-\(digits(3))-\(digits(4))",
                                 "+1 415 555 \(digits(4))", "1-800-555-\(digits(4))"])
        case .de: number = pick(["+49 30 \(digits(8))", "030 \(digits(7))", "+49 (0)89 \(digits(6))",
                                 "0171 \(digits(7))"])
        case .fr: number = pick(["+33 1 \(digits(2)) \(digits(2)) \(digits(2)) \(digits(2))",
                                 "06 \(digits(2)) \(digits(2)) \(digits(2)) \(digits(2))",
                                 "01.\(digits(2)).\(digits(2)).\(digits(2)).\(digits(2))"])
        case .nl: number = pick(["+31 20 \(digits(3)) \(digits(4))", "06-\(digits(8))", "020 \(digits(3)) \(digits(4))"])
        case .es: number = pick(["+34 6\(digits(2)) \(digits(3)) \(digits(3))", "91 \(digits(3)) \(digits(2)) \(digits(2))"])
        case .it: number = pick(["+39 06 \(digits(4)) \(digits(4))", "+39 3\(digits(2)) \(digits(3)) \(digits(4))"])
        case .pl: number = pick(["+48 22 \(digits(3)) \(digits(2)) \(digits(2))", "+48 5\(digits(2)) \(digits(3)) \(digits(3))"])
        }
        return (locale == .us || locale == .gb) && chance(0.15) ? number + " ext. \(digits(3))" : number
    }

    mutating func card() -> String {
        let (prefix, length) = pick([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
                                     ("6011", 16)])
        var number = prefix + digits(length - prefix.count - 1)
        number += String(Self.luhnDigit(number))
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return number
        case 1: return length == 15 ? Self.group(number, [4, 6, 5], " ") : Self.group(number, [4, 4, 4, 4], " ")
        default: return length == 15 ? Self.group(number, [4, 6, 5], "-") : Self.group(number, [4, 4, 4, 4], "-")
        }
    }

    static func luhnDigit(_ partial: String) -> Int {
        var sum = 0
        for (offset, character) in partial.reversed().enumerated() {
            let value = Int(String(character))!
            if offset % 2 == 0 {
                let doubled = value * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += value
            }
        }
        return (10 - sum % 10) % 10
    }

    static func group(_ text: String, _ sizes: [Int], _ separator: String) -> String {
        var rest = Substring(text)
        var parts: [String] = []
        for size in sizes where !rest.isEmpty {
            parts.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        if !rest.isEmpty { parts.append(String(rest)) }
        return parts.joined(separator: separator)
    }

    mutating func iban(_ locale: Locale) -> String {
        let (country, bban): (String, String) = switch locale {
        case .gb, .us: ("GB", pick(["NWBK", "BARC", "LOYD", "MIDL"]) + digits(14))
        case .de: ("DE", digits(18))
        case .fr: ("FR", digits(23))
        case .nl: ("NL", pick(["ABNA", "INGB", "RABO"]) + digits(10))
        case .es: ("ES", digits(20))
        case .it: ("IT", "X" + digits(22))
        case .pl: ("PL", digits(24))
        }
        let check = 98 - Self.mod97(bban + country + "00")
        let iban = country + (check < 10 ? "0" : "") + String(check) + bban
        return chance(0.5) ? Self.group(iban, Array(repeating: 4, count: 9), " ") : iban
    }

    static func mod97(_ text: String) -> Int {
        var remainder = 0
        for character in text {
            let value = character.isNumber ? Int(String(character))! : Int(character.asciiValue! - 55)
            remainder = (remainder * (value >= 10 ? 100 : 10) + value) % 97
        }
        return remainder
    }

    mutating func ip() -> String {
        chance(0.75)
            ? "\(pick([81, 92, 145, 176, 185, 203, 198])).\(Int.random(in: 0...255, using: &random)).\(Int.random(in: 0...255, using: &random)).\(Int.random(in: 1...254, using: &random))"
            : "2001:db8:\(String(Int.random(in: 1...0xffff, using: &random), radix: 16))::\(String(Int.random(in: 1...0xffff, using: &random), radix: 16))"
    }

    mutating func address(_ locale: Locale) -> String {
        let street = pick(Self.streets[locale]!)
        let (town, postcode) = pick(Self.towns[locale]!)
        let number = "\(Int.random(in: 1...240, using: &random))\(chance(0.15) ? "b" : "")"
        switch locale {
        case .gb: return "\(number) \(street), \(town) \(postcode)"
        case .us: return "\(number) \(street)\(chance(0.3) ? " Apt \(Int.random(in: 1...40, using: &random))" : ""), \(town) \(postcode)"
        case .fr: return "\(number) \(street), \(postcode) \(town)"
        case .de, .nl, .es, .it, .pl: return "\(street) \(number), \(postcode) \(town)"
        }
    }

    // MARK: - Queries

    mutating func sample() -> Sample {
        let locale = pick(Locale.allCases)
        var values: [(kind: String, value: String)] = []
        func add(_ kind: String, _ value: String) -> String {
            values.append((kind, value))
            return value
        }
        let person = name(locale)
        let opening = pick([
            "Hi, my name is \(add("PERSON", person)).", "Hello, this is about my account.",
            "Dear support,", "Hi there,", "Hello,",
        ])
        var sentences = [opening]
        let kinds = ["EMAIL", "PHONE", "CARD", "IBAN", "IP", "ADDRESS"].shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random))
        for kind in kinds {
            switch kind {
            case "EMAIL":
                sentences.append(pick(["Please reply to \(add("EMAIL", email(locale))).",
                                       "My login email is \(add("EMAIL", email(locale))) and I cannot sign in.",
                                       "I changed my address to \(add("EMAIL", email(locale))) last week."]))
            case "PHONE":
                sentences.append(pick(["You can call me on \(add("PHONE", phone(locale))).",
                                       "My phone number is \(add("PHONE", phone(locale))), call after 5pm.",
                                       "Reach me at \(add("PHONE", phone(locale))) if needed."]))
            case "CARD":
                sentences.append(pick(["My card \(add("CARD", card())) was charged twice.",
                                       "The payment with card number \(add("CARD", card())) failed.",
                                       "Please refund to \(add("CARD", card())) instead."]))
            case "IBAN":
                sentences.append(pick(["Please send the refund to IBAN \(add("IBAN", iban(locale))).",
                                       "My bank account is \(add("IBAN", iban(locale))).",
                                       "Transfer it to \(add("IBAN", iban(locale))) please."]))
            case "IP":
                sentences.append(pick(["Logins from \(add("IP", ip())) are blocked.",
                                       "The error appears when I connect from \(add("IP", ip())).",
                                       "My IP is \(add("IP", ip())) if that helps."]))
            default:
                sentences.append(pick(["Ship the replacement to \(add("ADDRESS", address(locale))).",
                                       "My new address is \(add("ADDRESS", address(locale))).",
                                       "The parcel never arrived at \(add("ADDRESS", address(locale)))."]))
            }
        }
        sentences.append(pick(["My order \(pick(["#", ""]))\(digits(8)) is also late.", "This started on 12.03.2024.",
                               "I paid €\(Int.random(in: 10...999, using: &random)).99 for it.", ""]))
        let signer = name(locale)
        sentences.append(pick(["Thanks,\n\(add("PERSON", signer))", "Regards, \(add("PERSON", signer))",
                               "Best regards,\n\(add("PERSON", signer))", "Thank you!"]))
        // Every choice offered was written (and recorded) before one was picked: keep the values the text has.
        let text = sentences.filter { !$0.isEmpty }.joined(separator: " ")
        var seen = Set<String>()
        let present = values.filter { text.contains($0.value) && seen.insert($0.kind + "\u{0}" + $0.value).inserted }
        return Sample(text: text, values: present)
    }

    /// A query with numbers and names of things, none of them personal.
    mutating func lookAlike() -> Sample {
        let sentences = [
            pick(["Hi team,", "Hello,", "Dear support,", "Hi there,"]),
            pick(["Order #\(digits(8)) has not arrived.", "My order \(digits(10)) is late.",
                  "Tracking number 1Z\(digits(3))AA\(digits(10)) shows no movement.",
                  "Invoice INV-\(digits(4))-\(digits(4)) is wrong."]),
            pick(["I was charged €\(Int.random(in: 1...9, using: &random)),\(digits(3)).50 instead of €\(digits(2)).00.",
                  "The app version \(Int.random(in: 1...9, using: &random)).\(Int.random(in: 0...20, using: &random)).\(Int.random(in: 0...9, using: &random)) crashes at 10:\(digits(2)).",
                  "Model XR-\(digits(4)) stopped working after 3 days.", "SKU AB-\(digits(4))-\(digits(2)) is out of stock."]),
            pick(["It happened on 2024-0\(Int.random(in: 1...9, using: &random))-1\(Int.random(in: 0...9, using: &random)).",
                  "Please fix this by Friday.", "Ticket \(digits(6)) was closed without an answer.",
                  "We have \(Int.random(in: 2...50, using: &random)) users on the Premium plan."]),
            pick(["Thanks for your help", "Best regards, the Acme team", "Thank you", "Cheers"]),
        ]
        return Sample(text: sentences.joined(separator: " "), values: [])
    }
}
