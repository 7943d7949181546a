import Testing
import TestSupport
@testable import TriageRedaction

/// Each detector with values it must find and look-alikes it must leave (order numbers, dates, amounts, tracking
/// numbers, product codes, versions, times).
@Suite("Redactor")
struct RedactorTests {
    let redactor = Redactor()

    /// The values of `kind` the redactor finds in `text`.
    func found(_ kind: PersonalKind, in text: String) -> [String] {
        redactor.redact(text).findings.filter { $0.kind == kind }.map(\.value)
    }

    /// Every value found in `text`, of any kind.
    func anything(in text: String) -> [String] {
        redactor.redact(text).findings.map { "\($0.kind.rawValue):\($0.value)" }
    }

    @Test("placeholders are typed and numbered within the text; one value repeated keeps its number")
    func placeholders() {
        let redaction = redactor.redact("Mail ann@example.com or bob@example.org, again ANN@example.com.")
        #expect(redaction.text == "Mail <EMAIL_1> or <EMAIL_2>, again <EMAIL_1>.")
        #expect(redaction.counts == [.email: 3])
        #expect(redaction.restoring("Customer <EMAIL_2> wrote; <EMAIL_9> unknown") ==
                "Customer bob@example.org wrote; <EMAIL_9> unknown")
        #expect(redactor.redact("nothing personal here, order 12345").text == "nothing personal here, order 12345")
    }

    @Test("email addresses", arguments: [
        ("write to jane.doe+billing@mail.example.co.uk please", "jane.doe+billing@mail.example.co.uk"),
        ("Contact: o'brien@example.ie.", "o'brien@example.ie"),
        ("<JOSE@EXAMPLE.ES>", "JOSE@EXAMPLE.ES"),
        ("müller@beispiel.de hat geschrieben", "müller@beispiel.de"),
    ])
    func emails(text: String, value: String) {
        #expect(found(.email, in: text) == [value])
    }

    @Test("not email addresses", arguments: ["@support please help", "user@localhost", "price @ 5.00", "a@b.c"])
    func notEmails(text: String) {
        #expect(found(.email, in: text).isEmpty)
    }

    @Test("credentials: URL user info, bearer tokens, API keys, passwords written out", arguments: [
        ("fetch https://admin:hunter22@db.example.com/x", "admin:hunter22"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"),
        ("my key is sk-proj-abcdefghijklmnop1234 oops", "sk-proj-abcdefghijklmnop1234"),
        ("AKIAIOSFODNN7EXAMPLE was leaked", "AKIAIOSFODNN7EXAMPLE"),
        ("my password is Summer2024! can you reset", "Summer2024!"),
        ("Passwort: geheim123", "geheim123"),
    ])
    func secrets(text: String, value: String) {
        #expect(found(.secret, in: text) == [value])
    }

    @Test("not credentials", arguments: [
        "I forgot my password", "the token expired yesterday", "password reset link not working",
        "see https://example.com/help", "my API key stopped working",
    ])
    func notSecrets(text: String) {
        #expect(found(.secret, in: text).isEmpty)
    }

    @Test("payment cards: Luhn-checked, spaced, dashed or plain", arguments: [
        ("card 4111 1111 1111 1111 was charged", "4111 1111 1111 1111"),
        ("5500-0000-0000-0004", "5500-0000-0000-0004"),
        ("amex 378282246310005 declined", "378282246310005"),
        ("Karte 6011111111111117.", "6011111111111117"),
    ])
    func cards(text: String, value: String) {
        #expect(found(.card, in: text) == [value])
    }

    @Test("not cards: order and tracking numbers, numbers that fail Luhn or have no issuer", arguments: [
        "order 4111 1111 1111 1112", "tracking 1Z999AA10123456784", "order #1234567890123456",
        "reference 9400111899223856928499", "invoice 2024-0001-3344", "serial 4111-11-1111",
    ])
    func notCards(text: String) {
        #expect(found(.card, in: text).isEmpty)
    }

    @Test("IBANs: checksum and country length, spaced or not", arguments: [
        ("IBAN DE89 3704 0044 0532 0130 00 please refund", "DE89 3704 0044 0532 0130 00"),
        ("to GB29NWBK60161331926819.", "GB29NWBK60161331926819"),
        ("compte FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
        ("nl91abna0417164300", "nl91abna0417164300"),
    ])
    func ibans(text: String, value: String) {
        #expect(found(.iban, in: text) == [value])
    }

    @Test("not IBANs: a wrong check digit, a product code", arguments: [
        "DE88 3704 0044 0532 0130 00", "model GB29 XYZ", "SKU DE12345678901234567890",
    ])
    func notIbans(text: String) {
        #expect(found(.iban, in: text).isEmpty)
    }

    @Test("account numbers and sort codes by the words that introduce them", arguments: [
        ("my account number is 12345678", "12345678"),
        ("sort code 20-00-00", "20-00-00"),
        ("Kontonummer: 0532013000", "0532013000"),
        ("routing number 021000021", "021000021"),
    ])
    func accounts(text: String, value: String) {
        #expect(found(.account, in: text) == [value])
    }

    @Test("not account numbers", arguments: [
        "my account was locked for 3 days", "account created 2024", "order 12345678 never arrived",
    ])
    func notAccounts(text: String) {
        #expect(found(.account, in: text).isEmpty)
    }

    @Test("IP addresses, v4 and v6", arguments: [
        ("login from 203.0.113.42 blocked", "203.0.113.42"),
        ("server 2001:db8:85a3::8a2e:370:7334 down", "2001:db8:85a3::8a2e:370:7334"),
        ("localhost ::1 works", "::1"),
        ("IP: 10.0.0.255.", "10.0.0.255"),
    ])
    func ips(text: String, value: String) {
        #expect(found(.ip, in: text) == [value])
    }

    @Test("not IP addresses: versions, times, MAC addresses, dates", arguments: [
        "version 1.2.3 crashed", "v10.4.2.1 is out", "at 10:30:45 today", "mac 00:1A:2B:3C:4D:5E",
        "on 12.03.2024", "999.1.1.1", "1.2.3.4.5",
    ])
    func notIPs(text: String) {
        #expect(found(.ip, in: text).isEmpty)
    }

    @Test("phone numbers, international and national, with extensions", arguments: [
        ("call me on +44 20 7946 0958", "+44 20 7946 0958"),
        ("tel. +49 (0)30 901820", "+49 (0)30 901820"),
        ("(555) 123-4567 ext. 89", "(555) 123-4567 ext. 89"),
        ("555-123-4567", "555-123-4567"),
        ("mobile 06 12 34 56 78", "06 12 34 56 78"),
        ("0031 20 123 4567", "0031 20 123 4567"),
        ("020 7946 0958 is my number", "020 7946 0958"),
        ("phone: 1-800-555-0199", "1-800-555-0199"),
    ])
    func phones(text: String, value: String) {
        #expect(found(.phone, in: text) == [value])
    }

    @Test("not phone numbers: orders, dates, amounts, times, tracking", arguments: [
        "order 1234567890 is late", "on 2024-03-12 at 10:30", "paid 1 250.00 EUR", "ticket 020 7946 0958",
        "12.03.2024", "tracking number 9400 1118 9922 3856", "it cost $1,234.56", "SKU 123-456-7890",
    ])
    func notPhones(text: String) {
        #expect(found(.phone, in: text).isEmpty)
    }

    @Test("national identifiers: US SSN and UK National Insurance numbers", arguments: [
        ("SSN 123-45-6789", "123-45-6789"),
        ("my social security number is 123456789", "123456789"),
        ("NI number QQ 12 34 56 C", nil),
        ("NINO AB123456C", "AB123456C"),
        ("ni: JG 10 37 28 D", "JG 10 37 28 D"),
    ] as [(String, String?)])
    func nationalIDs(text: String, value: String?) {
        #expect(found(.nationalID, in: text) == (value.map { [$0] } ?? []))
    }

    @Test("not national identifiers", arguments: [
        "order 123-45-6789X", "000-12-3456", "666-12-3456", "code 123456789", "AB123456", "GB123456A",
    ])
    func notNationalIDs(text: String) {
        #expect(found(.nationalID, in: text).isEmpty)
    }

    @Test("person names by context and by the first-name list", arguments: [
        ("Hi, my name is Maria García and my order is late", "Maria García"),
        ("Thanks,\nJohn Smith", "John Smith"),
        ("Mit freundlichen Grüßen\nJürgen Müller", "Jürgen Müller"),
        ("Dear Mrs. Janssen, ...", "Janssen"),
        ("Cordialement, Élodie Dubois", "Élodie Dubois"),
        ("I spoke to Anna yesterday", "Anna"),
        ("please ask Pieter van der Berg about it", "Pieter van der Berg"),
        ("Regards, Łukasz", "Łukasz"),
    ])
    func persons(text: String, value: String) {
        #expect(found(.person, in: text) == [value])
    }

    @Test("not person names", arguments: [
        "Hi team, the app crashes", "Thanks for your help", "Hello Support, I need a refund",
        "Dear Sir or Madam", "The Premium plan is too expensive", "Best regards, the Acme team",
        "I am unable to log in",
    ])
    func notPersons(text: String) {
        #expect(found(.person, in: text).isEmpty)
    }

    @Test("postal addresses in several countries' formats", arguments: [
        ("ship to 221B Baker Street, London NW1 6XE please", "221B Baker Street, London NW1 6XE"),
        ("1600 Pennsylvania Avenue NW, Washington, DC 20500", "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("Lieferadresse: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("12 rue de Rivoli, 75001 Paris", "12 rue de Rivoli, 75001 Paris"),
        ("Via Roma 10, 00184 Roma", "Via Roma 10, 00184 Roma"),
        ("adres Kerkstraat 12a, 1017 GC Amsterdam", "Kerkstraat 12a, 1017 GC Amsterdam"),
        ("42 Elm St Apt 4B, Springfield, IL 62704", "42 Elm St Apt 4B, Springfield, IL 62704"),
        ("postcode SW1A 1AA", "SW1A 1AA"),
    ])
    func addresses(text: String, value: String) {
        #expect(found(.address, in: text) == [value])
    }

    @Test("not addresses: quantities, versions, product names", arguments: [
        "I bought 3 items on the street market", "order 12345 arrived", "upgrade to version 12 today",
        "we have 5 users", "model X200 broke", "in 2024 we moved",
    ])
    func notAddresses(text: String) {
        #expect(found(.address, in: text).isEmpty)
    }

    @Test("a support query with many kinds at once: every value replaced, the rest untouched")
    func mixed() {
        let text = """
            Hello, my name is Sarah Connor. My card 4111-1111-1111-1111 was charged twice for order 88213. \
            Refund to IBAN GB29 NWBK 6016 1331 9268 19 or call +1 415 555 0100. Login IP 198.51.100.7. \
            Email sarah.connor@example.com. Address: 10 Downing Street, London SW1A 2AA.
            """
        let redaction = redactor.redact(text)
        #expect(redaction.text == """
            Hello, my name is <PERSON_1>. My card <CARD_1> was charged twice for order 88213. \
            Refund to IBAN <IBAN_1> or call <PHONE_1>. Login IP <IP_1>. \
            Email <EMAIL_1>. Address: <ADDRESS_1>.
            """)
    }
}

/// The redactor on generated queries (``PersonalDataGenerator``, a seed of its own): no email, phone, card, IBAN or
/// IP value is left in any part, and nothing is marked in the look-alikes.
@Suite("Redactor on generated queries")
struct RedactorGeneratedTests {
    @Test("300 generated queries in 8 countries' formats: every certain-kind value replaced; 100 look-alikes untouched")
    func generated() {
        var generator = PersonalDataGenerator(seed: 42)
        let samples = generator.samples(count: 300, negatives: 100)
        let redactor = Redactor()
        var checked = 0
        for sample in samples {
            let redacted = redactor.redact(sample.text).text
            if sample.values.isEmpty {
                #expect(redacted == sample.text, "a look-alike was marked: \(redacted)")
            }
            for (kind, value) in sample.values where ["EMAIL", "PHONE", "CARD", "IBAN", "IP"].contains(kind) {
                checked += 1
                #expect(!redacted.contains(value), "\(kind) \(value) left in: \(redacted)")
            }
        }
        #expect(checked > 300)
    }
}
