/// A word of the text: its bytes' range, whether it starts with a capital letter, and its lower-cased form.
struct Word {
    var start: Int
    var end: Int
    var capitalized: Bool
    var lowered: String
}

extension Scanner {
    /// The word starting at `start` (letters of any script, inner apostrophes and hyphens), or `nil`.
    func word(at start: Int) -> Word? {
        guard start < bytes.count, bytes[start].isLetter || bytes[start] >= 0xC0 else { return nil }
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte.isLetter || byte >= 0x80 {
                end += 1
            } else if byte == 0x27 || byte == 0x2D, self[end + 1].isLetter || self[end + 1] >= 0xC0 {
                end += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic else { return nil }
        return Word(start: start, end: end, capitalized: first.properties.isUppercase, lowered: text.lowercased())
    }

    /// The next word after `index`, skipping spaces (and, when `acrossPunctuation`, commas, colons and  breaks).
    func nextWord(after index: Int, acrossPunctuation: Bool = false) -> Word? {
        var cursor = index
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == 0x20 || byte == 0x09 || (acrossPunctuation && (byte == 0x2C || byte == 0x3A || byte == 0x0A
                                                                    || byte == 0x0D || byte == 0x21 || byte == 0x2D)) {
                cursor += 1
            } else {
                break
            }
        }
        return word(at: cursor)
    }
}

/// Person names: after the words that introduce them (greetings, sign-offs, "my name is", titles), and first names
/// from a list that spans Europe's languages, with the capitalised surname after them.
enum Names {
    /// Words after which the capitalised words that follow are a name.
    static let introducers = [
        "my name is", "my name's", "name is", "name:", "full name", "signed", "regards", "best regards",
        "kind regards", "warm regards", "sincerely", "yours truly", "yours sincerely", "dear", "hi", "hello", "hey",
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof",
        "mit freundlichen grüßen", "viele grüße", "liebe grüße", "grüße", "gruß", "hallo", "sehr geehrter",
        "sehr geehrte", "herr", "frau", "mein name ist", "ich heiße",
        "bonjour", "cordialement", "je m'appelle", "monsieur", "madame", "mademoiselle", "mme", "mon nom est",
        "hola", "saludos", "atentamente", "me llamo", "mi nombre es", "señor", "señora", "sr", "sra",
        "ciao", "cordiali saluti", "distinti saluti", "mi chiamo", "signor", "signora", "sig",
        "met vriendelijke groet", "groeten", "mijn naam is", "meneer", "mevrouw", "beste",
        "olá", "atenciosamente", "cumprimentos", "chamo-me", "o meu nome é", "meu nome é",
        "pozdrawiam", "nazywam się", "pan", "pani", "med vennlig hilsen", "med venlig hilsen", "hälsningar",
        "mvh", "thanks", "thank you", "many thanks", "cheers", "best", "merci", "danke", "gracias", "grazie",
        "bedankt", "obrigado", "obrigada", "dziękuję", "tack", "takk", "tak",
    ]
    /// Greetings: the words after one are a name only when they end at a comma, a stop or the line's end ("Hi
    /// Anna," but not "Hello, Logins from … are blocked").
    static let greetings: Set<String> = ["hi", "hello", "hey", "dear", "hallo", "bonjour", "hola", "ciao", "hoi",
                                         "olá", "beste", "lieber", "liebe", "sehr geehrter", "sehr geehrte",
                                         "dzień dobry"]
    /// Words after which a first name from the list is a name ("I am Anna", "this is Lars").
    static let softIntroducers = ["i am", "i'm", "this is", "ich bin", "je suis", "soy", "sono", "ik ben", "sou",
                                  "jestem", "jag heter", "jeg heter", "contact", "ask for", "speak to",
                                  "spoke to", "spoke with", "colleague", "wife", "husband", "son", "daughter"]
    /// Capitalised words that follow a greeting or a sign-off without being a name.
    static let notNames: Set<String> = [
        "team", "support", "there", "all", "everyone", "everybody", "sir", "madam", "customer", "service",
        "services", "guys", "folks", "friends", "again", "in", "for", "so", "much", "a", "lot", "the", "your", "my",
        "our", "you", "we", "i", "and", "or", "to", "it", "is", "this", "that", "please", "team,", "admin",
        "sales", "billing", "help", "helpdesk", "desk", "staff", "agent", "manager", "department", "care",
        "hello", "hi", "thanks", "thank", "regards", "best", "kind", "dear", "mr", "mrs", "ms", "dr", "good",
        "morning", "afternoon", "evening", "day", "week", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "ok", "okay", "yes", "no", "not", "any", "anyone", "someone", "which", "what",
        "when", "where", "why", "how", "who", "can", "could", "would", "will", "do", "does", "did", "have", "has",
        "had", "am", "are", "was", "were", "be", "been", "if", "but", "as", "at", "on", "of", "by", "with",
        "from", "me", "us", "them", "he", "she", "they", "advance", "wishes", "whole", "zusammen", "allerseits",
        "tous", "à", "todos", "tutti", "allemaal", "equipe", "équipe", "equipo", "team.", "sirs", "madams",
        "colleagues", "company", "inc", "ltd", "gmbh", "app", "account", "order", "refund", "premium", "pro",
        "plus", "gold", "silver", "platinum", "business", "enterprise", "free", "trial", "update", "again.",
        "very", "really", "just", "now", "today", "tomorrow", "yesterday", "asap", "urgent", "urgently",
    ]
    /// Lower-case particles inside a surname.
    static let particles: Set<String> = ["van", "de", "der", "den", "von", "da", "di", "du", "le", "la", "del",
                                        "dos", "das", "ter", "ten", "zu", "af", "al", "bin", "el", "mc"]

    /// Common first names across European languages, lower-cased. Names that are everyday words too (Will, Mark,
    /// May, Grace, Bill) are left out: after an introducer they are found anyway.
    static let firstNames: Set<String> = Set("""
        james john robert michael david richard joseph thomas charles christopher daniel matthew anthony donald \
        steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary \
        nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander patrick \
        raymond dennis jerry tyler aaron jose adam nathan henry zachary douglas peter kyle noah ethan jeremy \
        walter christian keith roger terry  sean gerald carl harold dylan arthur lawrence  jesse \
        bryan billy bruce gabriel joe logan alan juan albert willie elijah wayne randy vincent liam oliver \
        harry oscar charlie alfie leo archie freddie theo lucas mason luke callum connor jamie ben tom sam \
        mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra \
        margaret ashley kimberly emily donna michelle carol amanda melissa deborah stephanie rebecca sharon \
        laura cynthia dorothy amy kathleen angela shirley brenda emma anna nicole helen samantha katherine \
        christine debra rachel carolyn janet maria catherine heather diane olivia julie joyce victoria ruth \
         lauren kelly christina joan evelyn judith andrea hannah megan cheryl jacqueline martha \
         teresa gloria sara janice ann kathryn abigail sophia frances jean alice judy isabella julia \
        beverly denise danielle marilyn  theresa diana natalie   kayla alexis lori \
        ava mia amelia isla poppy ella lily sophie chloe jessica lucy evie freya ellie zoe holly \
        hans peter klaus jürgen juergen wolfgang michael thomas andreas stefan christian markus martin frank \
        uwe bernd dieter günter guenter horst manfred matthias tobias florian sebastian  lukas leon finn \
        jonas felix maximilian niklas paul moritz julian tim elias ursula monika petra sabine renate helga \
        karin brigitte ingrid gisela susanne andrea claudia nicole stefanie katharina julia lena lea hannah \
        laura sarah anna marie sophie johanna jana birgit heike kerstin silke anja tanja sandra \
        jean pierre michel philippe alain nicolas christophe patrick daniel bernard éric eric frédéric \
        frederic laurent stéphane stephane olivier sébastien sebastien julien thierry françois francois \
        antoine mathieu guillaume vincent hugo louis gabriel raphaël raphael arthur jules adam maël mael \
        nathalie isabelle sylvie catherine françoise francoise martine christine monique valérie valerie \
        sandrine sophie céline celine véronique veronique aurélie aurelie camille léa lea manon chloé chloe \
        inès ines jade louise alice lina élodie elodie margaux juliette émilie emilie amandine \
        antonio manuel josé francisco david juan javier daniel carlos jesús jesus alejandro miguel rafael \
        pedro pablo ángel angel sergio fernando jorge luis alberto álvaro alvaro diego adrián adrian raúl raul \
        enrique ramón ramon vicente andrés andres joaquín joaquin mario iván ivan rubén ruben óscar \
        carmen isabel dolores pilar teresa ana laura cristina marta lucía lucia paula elena raquel \
        sara manuela rosario  beatriz silvia patricia julia irene alba nuria sonia noelia \
        giuseppe giovanni antonio mario luigi francesco angelo vincenzo pietro salvatore carlo franco \
        domenico bruno paolo michele giorgio aldo sergio luciano roberto stefano andrea marco alessandro \
        matteo lorenzo davide simone riccardo federico luca giulia francesca chiara sara alessia martina \
        giorgia valentina elisa silvia federica roberta paola anna rita lucia giovanna rosa angela \
         piet kees henk willem johan dirk gerrit bart bas daan sem thijs ruben lars jeroen joost koen \
        maarten niels pieter sander stijn wouter anouk femke fleur ilse inge iris lotte maaike marieke \
        mirjam sanne saskia yvonne esther ingrid annelies \
        joão joao pedro tiago rui nuno ricardo bruno andré andre miguel filipe gonçalo goncalo diogo \
        duarte rodrigo afonso tomás tomas beatriz inês mariana matilde leonor  joana catarina \
        piotr krzysztof andrzej tomasz paweł pawel michał michal marcin grzegorz józef jozef marek jacek \
        łukasz lukasz adam zbigniew ryszard dariusz mateusz kamil jakub agnieszka katarzyna małgorzata \
        malgorzata joanna ewa magdalena monika dorota aleksandra zofia barbara natalia karolina \
        lars anders johan erik per nils karl mikael henrik björn bjorn magnus ole jens søren soren \
        mads rasmus kristian kasper mikkel jonas emil oskar elias astrid ingrid karin kerstin ingrid \
        birgitta eva annika sofia elsa maja freja ida mette hanne pernille  signe sigrid \
        mohammed mohamed ahmed ali omar yusuf fatima aisha mehmet mustafa ayşe ayse emine zeynep \
        ivan dmitri sergei olga natasha tatiana svetlana irina elena yuki hiroshi wei li priya raj
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    /// The introducers by their first byte, longest first (so "best regards" is found before "best").
    static let introducersByFirst = byFirstByte(introducers)
    static let softIntroducersByFirst = byFirstByte(softIntroducers)

    static func byFirstByte(_ words: [String]) -> [UInt8: [String]] {
        Dictionary(grouping: words) { $0.utf8.first! }.mapValues { $0.sorted { $0.utf8.count > $1.utf8.count } }
    }

    static func find(in scanner: inout Scanner) {
        var index = 0
        let bytes = scanner.bytes
        while index < bytes.count {
            defer { index += 1 }
            guard !scanner.isWordByte(index - 1), bytes[index].isLetter || bytes[index] >= 0xC0 else { continue }
            let first = scanner.lower[index]
            // After an introducer: the capitalised words that follow.
            if let introducer = introducersByFirst[first]?.first(where: { scanner.hasWord($0, at: index) }) {
                var after = index + introducer.utf8.count
                if scanner[after] == 0x2E { after += 1 }
                if let end = nameEnd(in: scanner, after: after, firstMustBeListed: false),
                   !greetings.contains(introducer) || [0x2C, 0x21, 0x2E, 0x3A, 0x0A, 0x0D, 0].contains(scanner[end]) {
                    let start = scanner.nextWord(after: after, acrossPunctuation: true)!.start
                    scanner.take(start, end, .person)
                    index = end
                }
                continue
            }
            if let introducer = softIntroducersByFirst[first]?.first(where: { scanner.hasWord($0, at: index) }) {
                let after = index + introducer.utf8.count
                if let end = nameEnd(in: scanner, after: after, firstMustBeListed: true, acrossPunctuation: false) {
                    let start = scanner.nextWord(after: after)!.start
                    scanner.take(start, end, .person)
                    index = end
                }
                continue
            }
            // A listed first name, capitalised, with the capitalised words after it.
            if bytes[index].isUpper || bytes[index] >= 0xC0,
               let word = scanner.word(at: index), word.capitalized, firstNames.contains(word.lowered),
               !scanner.isTaken(index) {
                let next = scanner.nextWord(after: word.end)
                let surname = next.map { $0.capitalized && !notNames.contains($0.lowered) } ?? false
                // A first name alone counts where a sentence does not start with it ("Thomas will call").
                if surname || !startsSentence(scanner, at: index) {
                    let end = nameEnd(in: scanner, after: index, firstMustBeListed: true, acrossPunctuation: false)
                        ?? word.end
                    scanner.take(index, end, .person)
                    index = end
                } else {
                    index = word.end
                }
            }
        }
    }

    /// The end of the name after `index`: up to four capitalised words (particles between them allowed), none of
    /// them a word that follows greetings without being a name; `nil` when there is none.
    static func nameEnd(in scanner: Scanner, after index: Int, firstMustBeListed: Bool,
                        acrossPunctuation: Bool = true) -> Int? {
        guard let first = scanner.nextWord(after: index, acrossPunctuation: acrossPunctuation), first.capitalized,
              !notNames.contains(first.lowered), !firstMustBeListed || firstNames.contains(first.lowered),
              !scanner.isTaken(first.start) else { return nil }
        // A name is on one line: a greeting's next  is the message.
        var end = first.end
        var words = 1
        var cursor = end
        while words < 4, let next = scanner.nextWord(after: cursor), next.start == cursor + 1 {
            if next.capitalized, !notNames.contains(next.lowered) {
                end = next.end
                words += 1
                cursor = next.end
            } else if particles.contains(next.lowered) {
                // "van der Berg": particles, then a capitalised word.
                var last = next
                while let after = scanner.nextWord(after: last.end), after.start == last.end + 1,
                      particles.contains(after.lowered) { last = after }
                guard let after = scanner.nextWord(after: last.end), after.start == last.end + 1, after.capitalized
                else { break }
                cursor = last.end
            } else {
                break
            }
        }
        return end
    }

    /// Whether `index` starts the text or a sentence.
    static func startsSentence(_ scanner: Scanner, at index: Int) -> Bool {
        var cursor = index - 1
        while cursor >= 0, scanner[cursor] == 0x20 || scanner[cursor] == 0x22 { cursor -= 1 }
        return cursor < 0 || [0x2E, 0x21, 0x3F, 0x0A, 0x0D, 0x3A].contains(scanner[cursor])
    }
}
