#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The detectors, run over a text's UTF-8 bytes in order of certainty: a byte one detector has taken is not
/// another's (a card number inside a URL's credentials stays a credential; an IBAN's digits are not a phone).
struct Scanner {
    let bytes: [UInt8]
    /// The same bytes lower-cased (ASCII), for the words detectors look for.
    let lower: [UInt8]
    private var taken: [Bool]
    private var found: [Span] = []

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        lower = bytes.map { $0.isUpper ? $0 | 0x20 : $0 }
        taken = [Bool](repeating: false, count: bytes.count)
    }

    /// Every span found, in the order of the text, none overlapping.
    func spans() -> [Span] {
        var scanner = self
        scanner.secrets()
        scanner.emails()
        scanner.ibans()
        scanner.cards()
        scanner.nationalIDs()
        scanner.accounts()
        scanner.ipAddresses()
        scanner.phones()
        scanner.addresses()
        scanner.persons()
        return scanner.found.sorted { $0.start < $1.start }
    }

    // MARK: - Taking spans

    /// Takes `start..<end` as `kind` when none of it is taken already.
    @discardableResult
    mutating func take(_ start: Int, _ end: Int, _ kind: PersonalKind) -> Bool {
        guard start < end, end <= bytes.count, !taken[start..<end].contains(true) else { return false }
        for index in start..<end { taken[index] = true }
        found.append(Span(start: start, end: end, kind: kind))
        return true
    }

    func isTaken(_ index: Int) -> Bool { index < taken.count && taken[index] }

    // MARK: - Byte helpers

    subscript(_ index: Int) -> UInt8 { index >= 0 && index < bytes.count ? bytes[index] : 0 }

    /// Whether a word (letters or digits, any script) continues across `index`.
    func isWordByte(_ index: Int) -> Bool {
        let byte = self[index]
        return byte.isAlphanumeric || byte >= 0x80
    }

    /// Whether `word` (lower-case) is at `index`, not inside a longer word on either side.
    func hasWord(_ word: String, at index: Int) -> Bool {
        let utf8 = word.utf8
        guard index >= 0, let first = utf8.first, index < lower.count, lower[index] == first,
              index + utf8.count <= bytes.count, !isWordByte(index - 1) || !first.isAlphanumeric,
              hasPrefix(word, at: index) else { return false }
        return !(utf8.last!.isAlphanumeric && isWordByte(index + utf8.count))
    }

    /// Whether one of `words` ends within `distance` bytes before `index` (case-insensitive, whole words), in the
    /// same sentence.
    func precededBy(_ words: [String], within distance: Int, of index: Int) -> Bool {
        var sentence = index - 1
        while sentence >= 0, index - sentence <= distance, ![0x2E, 0x21, 0x3F, 0x0A].contains(bytes[sentence])
            || (bytes[sentence] == 0x2E && self[sentence + 1] != 0x20) {
            sentence -= 1
        }
        let distance = min(distance, index - sentence - 1)
        for word in words {
            let length = word.utf8.count
            let last = index - length
            guard last >= 0 else { continue }
            for start in stride(from: last, through: max(0, index - distance - length), by: -1)
            where hasWord(word, at: start) {
                return true
            }
        }
        return false
    }

    /// The digits from `start`, allowing single separators from `separators` between digits.
    /// - Returns: The end of the run (after its last digit), its digits, and the sizes of its digit groups.
    func digitRun(from start: Int, separators: Set<UInt8>, maxDigits: Int = 40) -> (end: Int, digits: [UInt8], groups: [Int]) {
        var digits: [UInt8] = []
        var groups: [Int] = [0]
        var index = start
        var end = start
        while index < bytes.count, digits.count < maxDigits {
            let byte = bytes[index]
            if byte.isDigit {
                digits.append(byte)
                groups[groups.count - 1] += 1
                index += 1
                end = index
            } else if separators.contains(byte), index > start, self[index - 1].isDigit || self[index - 1] == 0x29,
                      self[index + 1].isDigit || (self[index + 1] == 0x28 && separators.contains(0x28)) {
                groups.append(0)
                index += 1
            } else if separators.contains(byte), byte == 0x29 || byte == 0x28 {
                // A parenthesis next to a space: "(555) 123", "+44 (0) 20".
                index += 1
                if groups.last != 0 { groups.append(0) }
            } else {
                break
            }
        }
        return (end, digits, groups.filter { $0 > 0 })
    }

    // MARK: - Credentials

    /// Credentials in URLs (`https://user:password@host`), bearer tokens, API keys by their issuers' prefixes, and
    /// a password, token or key a customer writes out after saying what it is.
    mutating func secrets() {
        let prefixes = ["sk-", "sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "github_pat_",
                        "xoxb-", "xoxp-", "xoxa-", "akia", "aiza", "glpat-"]
        let named = ["password", "passwd", "pwd", "passcode", "api key", "apikey", "api_key", "api-key", "token",
                     "secret", "access key", "passwort", "mot de passe", "contraseña", "wachtwoord"]
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // scheme://user:password@host
            if byte == 0x3A, self[index + 1] == 0x2F, self[index + 2] == 0x2F {
                let from = index + 3
                var end = from
                while end < bytes.count, !bytes[end].isSpace, bytes[end] != 0x2F, bytes[end] != 0x3F,
                      bytes[end] != 0x23 { end += 1 }
                if let at = bytes[from..<end].lastIndex(of: 0x40), at > from { take(from, at, .secret) }
                index = end
                continue
            }
            if lower[index] == 0x62, hasWord("bearer", at: index) {
                var start = index + 6
                while self[start] == 0x20 { start += 1 }
                let end = tokenEnd(from: start)
                if end - start >= 16 { take(start, end, .secret) }
                index = max(end, index + 1)
                continue
            }
            if !isWordByte(index - 1), let prefix = prefixes.first(where: { hasPrefix($0, at: index) }) {
                let end = tokenEnd(from: index)
                if end - index >= prefix.utf8.count + 12 { take(index, end, .secret) }
                index = max(end, index + 1)
                continue
            }
            if !isWordByte(index - 1), let word = named.first(where: { hasWord($0, at: index) }) {
                var start = index + word.utf8.count
                // "password is hunter22", "token: abc…", "api key = …"
                while self[start] == 0x20 || self[start] == 0x3A || self[start] == 0x3D { start += 1 }
                for filler in ["is ", "was ", "ist ", "est "] where hasPrefix(filler, at: start) {
                    start += filler.utf8.count
                }
                while self[start] == 0x20 || self[start] == 0x22 || self[start] == 0x27 { start += 1 }
                var end = start
                while end < bytes.count, !bytes[end].isSpace { end += 1 }
                while end > start, [0x2E, 0x2C, 0x22, 0x27, 0x29].contains(self[end - 1]) { end -= 1 }
                let token = bytes[start..<end]
                if token.count >= 6, token.contains(where: \.isDigit) || token.count >= 12,
                   token.contains(where: \.isLetter) || token.count >= 12 {
                    take(start, end, .secret)
                }
                index += word.utf8.count
                continue
            }
            index += 1
        }
    }

    /// Whether `prefix` (lower-case) starts at `index`, case-insensitively.
    func hasPrefix(_ prefix: String, at index: Int) -> Bool {
        let utf8 = prefix.utf8
        guard index >= 0, index + utf8.count <= bytes.count else { return false }
        var cursor = index
        for byte in utf8 {
            guard lower[cursor] == byte else { return false }
            cursor += 1
        }
        return true
    }

    /// The end of a token of letters, digits and `-_.~+/=`.
    func tokenEnd(from start: Int) -> Int {
        var end = start
        while end < bytes.count, bytes[end].isAlphanumeric || "-_.~+/=".utf8.contains(bytes[end]) { end += 1 }
        return end
    }

    // MARK: - Email

    mutating func emails() {
        for at in bytes.indices where bytes[at] == 0x40 && !taken[at] {
            var start = at
            while start > 0, isLocalByte(bytes[start - 1]) { start -= 1 }
            while start < at, bytes[start] == 0x2E { start += 1 }
            var end = at + 1
            while end < bytes.count, bytes[end].isAlphanumeric || bytes[end] == 0x2E || bytes[end] == 0x2D
                || bytes[end] >= 0x80 { end += 1 }
            while end > at + 1, bytes[end - 1] == 0x2E || bytes[end - 1] == 0x2D { end -= 1 }
            let domain = bytes[(at + 1)..<end]
            guard start < at, let dot = domain.lastIndex(of: 0x2E), dot > at + 1,
                  end - dot - 1 >= 2, bytes[(dot + 1)..<end].allSatisfy({ $0.isLetter || $0 >= 0x80 })
            else { continue }
            take(start, end, .email)
        }
    }

    private func isLocalByte(_ byte: UInt8) -> Bool {
        byte.isAlphanumeric || "._%+-'".utf8.contains(byte) || byte >= 0x80
    }

    // MARK: - IBAN

    /// The IBAN lengths of the countries that issue them.
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
        "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
        "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    mutating func ibans() {
        var index = 0
        while index + 15 <= bytes.count {
            guard bytes[index].isLetter, bytes[index + 1].isLetter, bytes[index + 2].isDigit, bytes[index + 3].isDigit,
                  !isWordByte(index - 1),
                  let length = Self.ibanLengths[String(decoding: [bytes[index] & 0xDF, bytes[index + 1] & 0xDF],
                                                       as: UTF8.self)]
            else { index += 1; continue }
            // `length` letters and digits, single spaces allowed between them.
            var characters: [UInt8] = []
            var end = index
            var cursor = index
            while cursor < bytes.count, characters.count < length {
                if bytes[cursor].isAlphanumeric {
                    characters.append(bytes[cursor] & (bytes[cursor].isLetter ? 0xDF : 0xFF))
                    cursor += 1
                    end = cursor
                } else if bytes[cursor] == 0x20 || bytes[cursor] == 0x2D, self[cursor + 1].isAlphanumeric {
                    cursor += 1
                } else {
                    break
                }
            }
            if characters.count == length, !isWordByte(end), Self.ibanChecksumHolds(characters) {
                take(index, end, .iban)
                index = end
            } else {
                index += 1
            }
        }
    }

    /// ISO 13616: the country and check digits moved to the end, letters as 10…35, the number mod 97 is 1.
    static func ibanChecksumHolds(_ characters: [UInt8]) -> Bool {
        var remainder = 0
        for byte in characters[4...] + characters[..<4] {
            if byte.isDigit {
                remainder = (remainder * 10 + Int(byte - 0x30)) % 97
            } else if byte >= 0x41 && byte <= 0x5A {
                remainder = (remainder * 100 + Int(byte - 0x41 + 10)) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }

    // MARK: - Payment cards

    mutating func cards() {
        var index = 0
        while index < bytes.count {
            guard bytes[index].isDigit, !isWordByte(index - 1), !isTaken(index) else { index += 1; continue }
            let run = digitRun(from: index, separators: [0x20, 0x2D], maxDigits: 20)
            defer { index = max(run.end, index + 1) }
            let groups = run.groups
            let grouped = groups.count == 1 || groups.dropLast().allSatisfy { $0 == 4 } && (1...4).contains(groups.last!)
                || groups == [4, 6, 5] || groups == [4, 6, 4]
            guard (13...19).contains(run.digits.count), grouped, !isWordByte(run.end),
                  Self.isCardNumber(run.digits) else { continue }
            take(index, run.end, .card)
        }
    }

    /// A card number: an issuer's prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro) and
    /// the Luhn check.
    static func isCardNumber(_ digits: [UInt8]) -> Bool {
        let values = digits.map { Int($0 - 0x30) }
        let prefix4 = values.prefix(4).reduce(0) { $0 * 10 + $1 }
        let issuer = values[0] == 4 || (51...55).contains(prefix4 / 100) || (2221...2720).contains(prefix4)
            || [34, 37, 36, 38, 30, 35, 62, 65, 60, 64, 50, 56, 57, 58, 67, 63].contains(prefix4 / 100)
        guard issuer else { return false }
        var sum = 0
        for (offset, value) in values.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = value * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += value
            }
        }
        return sum % 10 == 0
    }

    // MARK: - National identifiers

    /// US Social Security numbers (`123-45-6789`, or nine digits after "SSN") and UK National Insurance numbers
    /// (`AB 12 34 56 C`), by the rules that make them certain.
    mutating func nationalIDs() {
        var index = 0
        while index < bytes.count {
            defer { index += 1 }
            guard !isWordByte(index - 1), !isTaken(index) else { continue }
            if bytes[index].isDigit {
                let run = digitRun(from: index, separators: [0x2D, 0x20], maxDigits: 10)
                let context = precededBy(["ssn", "social security", "social security number", "ss#"], within: 24,
                                         of: index)
                guard run.digits.count == 9, !isWordByte(run.end),
                      run.groups == [3, 2, 4] && self[index + 3] == 0x2D || context && [[9], [3, 2, 4]].contains(run.groups)
                else { continue }
                let area = Int(String(decoding: run.digits[0..<3], as: UTF8.self))!
                let group = Int(String(decoding: run.digits[3..<5], as: UTF8.self))!
                let serial = Int(String(decoding: run.digits[5..<9], as: UTF8.self))!
                guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { continue }
                take(index, run.end, .nationalID)
            } else if bytes[index].isLetter, self[index + 1].isLetter, let end = ninoEnd(from: index) {
                take(index, end, .nationalID)
            }
        }
    }

    /// The end of a UK National Insurance number starting at `start`: two prefix letters (not D, F, I, Q, U, V; the
    /// second not O; not BG, GB, KN, NK, NT, TN, ZZ), six digits (in pairs or not), a suffix A–D.
    private func ninoEnd(from start: Int) -> Int? {
        let first = bytes[start] & 0xDF, second = bytes[start + 1] & 0xDF
        let never: Set<UInt8> = Set("DFIQUV".utf8)
        guard !never.contains(first), !never.contains(second), second != 0x4F,
              !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(String(decoding: [first, second], as: UTF8.self))
        else { return nil }
        var cursor = start + 2
        var digits = 0
        while digits < 6 {
            if self[cursor] == 0x20, self[cursor + 1].isDigit, digits % 2 == 0 { cursor += 1 }
            guard self[cursor].isDigit else { return nil }
            digits += 1
            cursor += 1
        }
        if self[cursor] == 0x20 { cursor += 1 }
        guard (0x41...0x44).contains(self[cursor] & 0xDF), self[cursor].isLetter, !isWordByte(cursor + 1)
        else { return nil }
        return cursor + 1
    }

    // MARK: - Account numbers

    /// Bank account numbers, sort codes and routing numbers, by the words that introduce them.
    mutating func accounts() {
        let words = ["account number", "account no", "account #", "account", "acct", "acc no", "a/c",
                     "sort code", "routing number", "routing", "aba", "bsb", "kontonummer", "konto",
                     "rekeningnummer", "rekening", "numéro de compte", "compte", "número de cuenta", "cuenta",
                     "conto", "iban", "bic"]
        var index = 0
        while index < bytes.count {
            defer { index += 1 }
            guard bytes[index].isDigit, !isWordByte(index - 1), !isTaken(index), self[index - 1] != 0x2B else { continue }
            let run = digitRun(from: index, separators: [0x20, 0x2D], maxDigits: 20)
            let sortCode = run.groups == [2, 2, 2]
            guard (6...20).contains(run.digits.count) || sortCode, !isWordByte(run.end),
                  precededBy(words, within: 24, of: index) else {
                index = run.end - 1
                continue
            }
            // An amount or a count after the word ("account for 3 days") has too few digits; a date has slashes.
            take(index, run.end, .account)
            index = run.end
        }
    }

    // MARK: - IP addresses

    mutating func ipAddresses() {
        var index = 0
        while index < bytes.count {
            defer { index += 1 }
            guard !isTaken(index), !isWordByte(index - 1), self[index - 1] != 0x2E, self[index - 1] != 0x3A else { continue }
            if let end = ipv4End(from: index) {
                take(index, end, .ip)
                index = end
            } else if bytes[index].isHexDigit || bytes[index] == 0x3A, let end = ipv6End(from: index) {
                take(index, end, .ip)
                index = end
            }
        }
    }

    private func ipv4End(from start: Int) -> Int? {
        var cursor = start
        for part in 0..<4 {
            var value = 0
            var digits = 0
            while self[cursor].isDigit, digits < 3 {
                value = value * 10 + Int(self[cursor] - 0x30)
                digits += 1
                cursor += 1
            }
            guard digits > 0, value <= 255, !self[cursor].isDigit else { return nil }
            if part < 3 {
                guard self[cursor] == 0x2E else { return nil }
                cursor += 1
            }
        }
        guard !isWordByte(cursor), !(self[cursor] == 0x2E && self[cursor + 1].isDigit) else { return nil }
        return cursor
    }

    private func ipv6End(from start: Int) -> Int? {
        var end = start
        while end < bytes.count, bytes[end].isHexDigit || bytes[end] == 0x3A || bytes[end] == 0x2E { end += 1 }
        while end > start, bytes[end - 1] == 0x2E || (bytes[end - 1] == 0x3A && self[end - 2] != 0x3A) { end -= 1 }
        let candidate = bytes[start..<end]
        guard candidate.filter({ $0 == 0x3A }).count >= 2, !isWordByte(end), candidate.count >= 3 else { return nil }
        var address = in6_addr()
        let text = String(decoding: candidate, as: UTF8.self)
        return inet_pton(AF_INET6, text, &address) == 1 ? end : nil
    }

    // MARK: - Phone numbers

    mutating func phones() {
        let context = ["phone", "tel", "telephone", "mobile", "cell", "call", "ring", "whatsapp", "number", "reach me",
                       "text me", "fax", "telefon", "telefono", "teléfono", "téléphone", "portable", "handy",
                       "móvil", "cellulare", "nummer", "numero", "número", "contact"]
        let notPhones = ["order", "invoice", "tracking", "ticket", "ref", "reference", "case", "confirmation", "sku",
                         "serial", "model", "po", "transaction", "booking", "bestellung", "commande", "pedido",
                         "bestelling", "ordine", "item", "part"]
        let generic: Set<String> = ["number", "nummer", "numero", "número", "contact"]
        let separators: Set<UInt8> = [0x20, 0x2D, 0x2E, 0x28, 0x29]
        var index = 0
        while index < bytes.count {
            defer { index += 1 }
            let byte = bytes[index]
            guard !isTaken(index), !isWordByte(index - 1), byte.isDigit || byte == 0x2B || byte == 0x28 else { continue }
            let international = byte == 0x2B && self[index + 1].isDigit
            let from = international ? index + 1 : index
            guard self[from].isDigit || (self[from] == 0x28 && self[from + 1].isDigit) else { continue }
            let run = digitRun(from: from, separators: separators, maxDigits: 16)
            // A number that is not a phone's is skipped whole: its tail is no phone either.
            defer { index = max(index, run.end - 1) }
            guard !isWordByte(run.end), !(self[run.end] == 0x2F) else { continue }
            let digits = run.digits
            guard digits.count >= 7 else { continue }
            let separated = run.groups.count > 1
            let said = precededBy(context, within: 30, of: index)
            // "order number 12345678" is an order's; "order, call me on 0612345678" a phone's.
            let otherNumber = precededBy(notPhones, within: 16, of: index)
                && !precededBy(context.filter { !generic.contains($0) }, within: 16, of: index)
            var phone = false
            if international || (digits.starts(with: [0x30, 0x30]) && separated) {
                phone = (8...15).contains(digits.count - (international ? 0 : 2)) && !otherNumber
            } else if otherNumber {
                phone = false
            } else if looksLikeDate(run.groups, from: from) {
                phone = false
            } else if digits.first == 0x30 {
                // A national number with its trunk zero: "020 7946 0958", "06-12345678", "0612345678" when said.
                phone = (9...12).contains(digits.count) && (separated || said)
            } else if digits.count == 10 && (run.groups == [3, 3, 4] || said) {
                phone = true
            } else if digits.count == 11 && digits.first == 0x31 && (run.groups == [1, 3, 3, 4] || said) {
                phone = true
            } else if said && (7...12).contains(digits.count) && separated {
                phone = true
            }
            guard phone else { continue }
            take(index, extensionEnd(after: run.end), .phone)
            index = run.end
        }
    }

    /// Digits grouped like a date or a time (`12.03.2024`, `2024-03-12`).
    private func looksLikeDate(_ groups: [Int], from start: Int) -> Bool {
        groups == [2, 2, 4] || groups == [4, 2, 2] || groups == [2, 2, 2] || groups == [1, 2, 4] || groups == [2, 1, 4]
    }

    /// The end of a phone number's extension after `end` (" ext. 123", " x12", " extension 4"), or `end`.
    private func extensionEnd(after end: Int) -> Int {
        for marker in [" ext. ", " ext.", " ext ", " extension ", " x", " #", " durchwahl "] where hasPrefix(marker, at: end) {
            var cursor = end + marker.utf8.count
            let start = cursor
            while self[cursor].isDigit, cursor - start < 6 { cursor += 1 }
            if cursor > start, !isWordByte(cursor) { return cursor }
        }
        return end
    }

    // MARK: - Postal addresses

    mutating func addresses() {
        Addresses.find(in: &self)
    }

    // MARK: - Person names

    mutating func persons() {
        Names.find(in: &self)
    }
}

extension UInt8 {
    var isDigit: Bool { self >= 0x30 && self <= 0x39 }
    var isUpper: Bool { self >= 0x41 && self <= 0x5A }
    var isLower: Bool { self >= 0x61 && self <= 0x7A }
    var isLetter: Bool { isUpper || isLower }
    var isAlphanumeric: Bool { isDigit || isLetter }
    var isHexDigit: Bool { isDigit || (self | 0x20 >= 0x61 && self | 0x20 <= 0x66) }
    var isSpace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}
