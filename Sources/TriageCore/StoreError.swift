/// An error from a ``QueryStore``.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidLocation, leaseLost, notFound, unavailable, database, invalidInput
    }

    private let code: Code
    /// Detail for a person, free of secrets.
    public let message: String
    /// The error underneath, if any.
    public let underlying: (any Error & Sendable)?

    private init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    /// The store URI could not be understood.
    public static func invalidLocation(_ message: String) -> Self { .init(.invalidLocation, message) }
    /// A write was refused because the caller's lease token is no longer current (fencing).
    public static func leaseLost(_ id: QueryID) -> Self {
        .init(.leaseLost, "lease on query \(id) is no longer held; the write was refused")
    }
    public static func notFound(_ message: String) -> Self { .init(.notFound, message) }
    /// The store cannot be reached; the run should stop (or pause) rather than fail queries.
    public static func unavailable(_ message: String, underlying: (any Error & Sendable)? = nil) -> Self {
        .init(.unavailable, message, underlying: underlying)
    }
    public static func database(_ message: String, underlying: (any Error & Sendable)? = nil) -> Self {
        .init(.database, message, underlying: underlying)
    }
    public static func invalidInput(_ message: String) -> Self { .init(.invalidInput, message) }

    public var isLeaseLost: Bool { code == .leaseLost }
    /// The store could not be reached (a lost connection, a failover): worth retrying after a pause.
    public var isUnavailable: Bool { code == .unavailable }
    public var isInvalidLocation: Bool { code == .invalidLocation }
    /// What was asked for is not in the store.
    public var isNotFound: Bool { code == .notFound }
    /// The input was refused before anything was written.
    public var isInvalidInput: Bool { code == .invalidInput }
}
