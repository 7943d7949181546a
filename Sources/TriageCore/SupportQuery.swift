import Foundation

/// A customer-support query as it arrives: the text to classify and what the sender told us about it.
public struct SupportQuery: Sendable, Hashable, Codable {
    /// The message body. Never empty.
    public var text: String
    public var subject: String?
    /// Where the query came from, such as `email`, `chat` or `web`.
    public var channel: String?
    public var customerId: String?
    /// The caller's own identifier; importing the same `externalId` twice adds the query once.
    public var externalId: String?
    public var createdAt: Date
    /// Free string metadata carried along untouched.
    public var metadata: [String: String]
    /// The labels the query is known to deserve, when it was imported with them.
    public var expected: ExpectedLabels?

    public init(
        text: String,
        subject: String? = nil,
        channel: String? = nil,
        customerId: String? = nil,
        externalId: String? = nil,
        createdAt: Date = Date(),
        metadata: [String: String] = [:],
        expected: ExpectedLabels? = nil
    ) {
        self.text = text
        self.subject = subject
        self.channel = channel
        self.customerId = customerId
        self.externalId = externalId
        self.createdAt = createdAt
        self.metadata = metadata
        self.expected = expected
    }
}

extension SupportQuery {
    /// Why a query was refused: the field, and what is wrong with it.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public let field: String
        public let reason: String

        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }

        public var description: String { "field '\(field)' \(reason)" }
    }

    /// The query, checked by the one rule every query from outside input (a file, a request, the command line)
    /// meets: there is text to classify, and every byte of every field can be kept. The readers build a query and
    /// pass it through here.
    /// - Throws: ``Invalid`` if the text is empty once whitespace is trimmed, or a field holds a NUL character
    ///   (which a store would cut the value at: refused rather than changed).
    public func validated() throws(Invalid) -> SupportQuery {
        if let problem { throw problem }
        return self
    }

    /// What ``validated()`` refuses in the query, or `nil`; stores check it again for values built without that
    /// constructor.
    public var problem: Invalid? {
        guard hasText else { return Invalid(field: "text", reason: "must not be empty") }
        let nul = "holds a NUL character (\\u0000), which cannot be stored exactly"
        if text.utf8.contains(0) { return Invalid(field: "text", reason: nul) }
        for (name, value) in [("subject", subject), ("channel", channel), ("customerId", customerId),
                              ("externalId", externalId)] where value?.utf8.contains(0) == true {
            return Invalid(field: name, reason: nul)
        }
        for (key, value) in metadata where key.utf8.contains(0) || value.utf8.contains(0) {
            return Invalid(field: "metadata", reason: nul)
        }
        return nil
    }

    /// The most UTF-8 bytes of a text (and of a subject) sent to a model unless configured otherwise: far above any
    /// real ticket, far below what a pasted log could cost.
    public static let defaultMaxTextBytes = 32_768

    /// Why the query is too long to send to a model that takes at most `maxTextBytes` bytes of text, or `nil`.
    public func oversized(maxTextBytes: Int) -> Invalid? {
        for (name, value) in [("text", text), ("subject", subject ?? "")] where value.utf8.count > maxTextBytes {
            return Invalid(field: name, reason: "is \(value.utf8.count) bytes, more than the limit of \(maxTextBytes) "
                           + "(--max-text-bytes)")
        }
        return nil
    }

    /// Whether the text has something besides whitespace (the first rule of ``validated()``).
    public var hasText: Bool {
        text.unicodeScalars.contains { !$0.properties.isWhitespace }
    }
}

/// The identifier a store gives a query (an SQLite row id, a MongoDB ObjectId as hex).
public struct QueryID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: QueryID, rhs: QueryID) -> Bool {
        // Numeric ids sort numerically so that "10" follows "9".
        if let l = Int(lhs.rawValue), let r = Int(rhs.rawValue) { return l < r }
        return lhs.rawValue < rhs.rawValue
    }
}

/// Where a query stands in its life.
public enum QueryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending
    case processing
    case classified
    case failed
}

/// A worker's time-limited claim on a query. Writes for the query are accepted only with the current token.
public struct Lease: Sendable, Hashable, Codable {
    public var owner: String
    public var token: String
    public var expiresAt: Date

    public init(owner: String, token: String, expiresAt: Date) {
        self.owner = owner
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// The last error recorded against a query.
public struct RecordedError: Sendable, Hashable, Codable {
    /// A stable machine-readable kind such as `timeout`, `rate_limited` or `invalid_output`.
    public var kind: String
    public var message: String
    public var at: Date

    public init(kind: String, message: String, at: Date) {
        self.kind = kind
        self.message = message
        self.at = at
    }
}

/// A query as a store holds it: the query itself plus its processing state.
public struct QueryRecord: Sendable, Hashable, Codable, Identifiable {
    public var id: QueryID
    public var query: SupportQuery
    public var status: QueryStatus
    /// How many times a worker has claimed this query for classification.
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lease: Lease?
    public var lastError: RecordedError?
    public var classification: Classification?
    /// A person's correction; runs never touch it.
    public var correction: Correction?
    public var updatedAt: Date

    public init(
        id: QueryID,
        query: SupportQuery,
        status: QueryStatus,
        attempts: Int,
        nextAttemptAt: Date,
        lease: Lease? = nil,
        lastError: RecordedError? = nil,
        classification: Classification? = nil,
        correction: Correction? = nil,
        updatedAt: Date
    ) {
        self.id = id
        self.query = query
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lease = lease
        self.lastError = lastError
        self.classification = classification
        self.correction = correction
        self.updatedAt = updatedAt
    }
}
