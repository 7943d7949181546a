/// The kinds of personal value the redactor finds, each the name of its placeholder (`<EMAIL_1>`).
public enum PersonalKind: String, CaseIterable, Sendable, Codable, Comparable {
    case secret = "SECRET"
    case email = "EMAIL"
    case iban = "IBAN"
    case card = "CARD"
    case nationalID = "NATIONAL_ID"
    case account = "ACCOUNT"
    case ip = "IP"
    case phone = "PHONE"
    case address = "ADDRESS"
    case person = "PERSON"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A text with its personal values replaced by numbered placeholders, and what it takes to put them back.
public struct Redaction: Sendable, Equatable {
    /// One value found: where it was (UTF-8 offsets in the original text), its kind and its placeholder.
    public struct Finding: Sendable, Equatable {
        public var kind: PersonalKind
        public var start: Int
        public var end: Int
        public var value: String
        public var placeholder: String
    }

    /// The text as it may be sent: every value found replaced by its placeholder.
    public var text: String
    /// What was found, in the order of the text.
    public var findings: [Finding]

    /// How many values of each kind were replaced (a value repeated counts each time it appears).
    public var counts: [PersonalKind: Int] {
        findings.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }

    /// ``counts`` by the kinds' names (`EMAIL`), as a classification records them; `nil` when nothing was found.
    public var namedCounts: [String: Int]? {
        findings.isEmpty ? nil : Dictionary(counts.map { ($0.key.rawValue, $0.value) }, uniquingKeysWith: +)
    }

    /// `text` (the model's answer about this query) with this query's placeholders put back; placeholders this
    /// query does not have are left as they are.
    public func restoring(_ text: String) -> String {
        guard !findings.isEmpty, text.contains("<") else { return text }
        var values: [String: String] = [:]
        for finding in findings { values[finding.placeholder] = finding.value }
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">"),
                  let value = values[String(rest[open...close])] else {
                result.append("<")
                rest = rest[rest.index(after: open)...]
                continue
            }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}

/// Finds personal values in support text and replaces them with typed placeholders, numbered within the text
/// (`<EMAIL_1>`, `<PHONE_2>`; one value repeated keeps one number). No I/O, no state: one redactor serves every
/// thread.
///
/// Values with a checksum or a fixed shape are found by it (cards by Luhn and issuer prefix, IBANs by mod 97 and
/// the country's length, IP addresses by their grammar, US SSNs and UK National Insurance numbers by their rules);
/// phone and account numbers by their shape and the words around them; names by the words that introduce them and a
/// list of first names; postal addresses by house number and street words, and by postcodes. See docs/privacy.md
/// for what it cannot find.
public struct Redactor: Sendable {
    public init() {}

    /// `text` with every value found replaced.
    public func redact(_ text: String) -> Redaction {
        var numbers = Numbering()
        let (redacted, findings) = redact(text, numbering: &numbers)
        return Redaction(text: redacted, findings: findings)
    }

    /// A query's text and subject, numbered as one: a value in both has one placeholder.
    /// - Returns: The redacted text and subject, and every finding of both (the redaction's `text` is the text's).
    public func redact(text: String, subject: String?) -> (subject: String?, redaction: Redaction) {
        var numbers = Numbering()
        let (redactedSubject, subjectFindings) = subject.map { redact($0, numbering: &numbers) } ?? (nil, [])
        let (redactedText, textFindings) = redact(text, numbering: &numbers)
        return (redactedSubject, Redaction(text: redactedText, findings: subjectFindings + textFindings))
    }

    /// Each kind's values, numbered in the order they are first found.
    struct Numbering {
        var numbers: [PersonalKind: [String: Int]] = [:]

        mutating func placeholder(_ kind: PersonalKind, _ value: String) -> String {
            let key = kind == .email ? value.lowercased() : value
            var known = numbers[kind, default: [:]]
            let number = known[key] ?? (known.count + 1)
            known[key] = number
            numbers[kind] = known
            return "<\(kind.rawValue)_\(number)>"
        }
    }

    private func redact(_ text: String, numbering: inout Numbering) -> (String, [Redaction.Finding]) {
        let bytes = Array(text.utf8)
        let spans = Scanner(bytes).spans()
        guard !spans.isEmpty else { return (text, []) }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var findings: [Redaction.Finding] = []
        var position = 0
        for span in spans {
            output += bytes[position..<span.start]
            let value = String(decoding: bytes[span.start..<span.end], as: UTF8.self)
            let placeholder = numbering.placeholder(span.kind, value)
            output += Array(placeholder.utf8)
            findings.append(.init(kind: span.kind, start: span.start, end: span.end, value: value,
                                  placeholder: placeholder))
            position = span.end
        }
        output += bytes[position...]
        return (String(decoding: output, as: UTF8.self), findings)
    }
}

/// One value found, before numbering: UTF-8 offsets and kind.
struct Span: Equatable {
    var start: Int
    var end: Int
    var kind: PersonalKind
}
