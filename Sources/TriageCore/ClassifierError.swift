/// Why a classification did not produce a result, and how far the failure reaches.
public struct ClassifierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// How far a failure reaches.
    public enum Scope: String, Sendable, Hashable {
        /// This attempt failed; a later attempt may succeed (timeouts, 429, 5xx, invalid output).
        case attempt
        /// The query itself is unacceptable to the provider; retrying cannot help.
        case query
        /// Nothing in this run can succeed (bad API key, unknown model); stop and leave the backlog untouched.
        case run
    }

    private enum Code: Hashable, Sendable {
        case rateLimited, server, timeout, connection, invalidOutput, rejected, textTooLong, unauthorized, configuration, mock
    }

    private let code: Code
    /// Human-readable detail, free of secrets.
    public let message: String
    /// Tokens spent by the failed attempt, so that failures are paid for in the statistics too.
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Double = 0

    private init(_ code: Code, _ message: String, promptTokens: Int = 0, completionTokens: Int = 0) {
        self.code = code
        self.message = message
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// A stable kind recorded with the query and counted in the statistics.
    public var kind: String {
        switch code {
        case .rateLimited: "rate_limited"
        case .server: "server_error"
        case .timeout: "timeout"
        case .connection: "connection"
        case .invalidOutput: "invalid_output"
        case .rejected: "rejected"
        case .textTooLong: "text_too_long"
        case .unauthorized: "unauthorized"
        case .configuration: "configuration"
        case .mock: "mock_transient"
        }
    }

    public var scope: Scope {
        switch code {
        case .rateLimited, .server, .timeout, .connection, .invalidOutput, .mock: .attempt
        case .rejected, .textTooLong: .query
        case .unauthorized, .configuration: .run
        }
    }

    /// Whether the failure says the provider is not answering at all (no connection, no answer in time, a 5xx), rather
    /// than anything about this query: what a run counts towards pausing for a provider outage.
    public var isProviderUnavailable: Bool {
        switch code {
        case .server, .timeout, .connection: true
        default: false
        }
    }

    /// Whether the model answered, but not in a form the taxonomy accepts.
    public var isInvalidOutput: Bool { code == .invalidOutput }

    public var description: String { "\(kind): \(message)" }

    /// The same error with another message.
    public func withMessage(_ message: String) -> Self {
        var copy = Self(code, message, promptTokens: promptTokens, completionTokens: completionTokens)
        copy.costUSD = costUSD
        return copy
    }

    public static func rateLimited(_ message: String) -> Self { .init(.rateLimited, message) }
    public static func server(_ message: String) -> Self { .init(.server, message) }
    public static func timeout(_ message: String) -> Self { .init(.timeout, message) }
    public static func connection(_ message: String) -> Self { .init(.connection, message) }
    public static func invalidOutput(_ message: String, promptTokens: Int = 0, completionTokens: Int = 0) -> Self {
        .init(.invalidOutput, message, promptTokens: promptTokens, completionTokens: completionTokens)
    }
    /// The provider refused this query (an HTTP 400 for its content, say).
    public static func rejected(_ message: String) -> Self { .init(.rejected, message) }
    /// The query is longer than the classifier takes (``Classifier/maxTextBytes``): refused before any call.
    public static func textTooLong(_ problem: SupportQuery.Invalid) -> Self { .init(.textTooLong, problem.description) }
    /// The credentials were refused: the run must stop.
    public static func unauthorized(_ message: String) -> Self { .init(.unauthorized, message) }
    /// The classifier is misconfigured (unknown model, bad endpoint): the run must stop.
    public static func configuration(_ message: String) -> Self { .init(.configuration, message) }
    /// A failure the mock classifier injected on purpose.
    public static func mockTransient(_ message: String) -> Self { .init(.mock, message) }
}
