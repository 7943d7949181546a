/// A wait that outlived its deadline.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the deadline passed" }
}

/// Runs `body` until it finishes or `deadline()` passes, whichever comes first; then `body` is cancelled and this
/// throws ``DeadlineExceeded``. `deadline` is asked again as time goes by (every 50 ms at most), so a deadline that
/// moves earlier (a shutdown's) is kept too. What keeps one request, headers and body together, within its time
/// however slowly the peer trickles its answer.
public func withDeadline<T: Sendable>(
    _ deadline: @escaping @Sendable () -> ContinuousClock.Instant,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            while case let left = deadline() - .now, left > .zero {
                try await Task.sleep(for: min(left, .milliseconds(50)))
            }
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
        return value
    }
}

/// ``withDeadline(_:_:)`` with a fixed deadline `timeout` from now.
public func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T)
    async throws -> T {
    let deadline = ContinuousClock.now + timeout
    return try await withDeadline({ deadline }, body)
}
