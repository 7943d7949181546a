import Crypto
import Foundation

/// One provider key's per-minute limits as every Triage process on a store shares them: two schedules, one of
/// requests and one of tokens, that processes take spans of, plus the 429 pause and slowdown that hold for all.
///
/// The schedules are evenly paced timelines (virtual scheduling). A process takes a span of each at a time, say half
/// a second of requests; the span is its own to send in, slot by slot, and the next process's span starts where it
/// ends. So the fleet's sends are as evenly spaced as one process's would be, whoever sends them, and the limit is
/// the provider's, not divided by hand. A process that dies holds at most the span it took.
///
/// Every store keeps this value under a name (``name(endpoint:apiKey:)``) and changes it atomically with
/// ``RateBudgetStore/updateRateBudget(_:_:)``; the rules are here, once.
public struct RateBudget: Sendable, Hashable, Codable {
    /// Where the free part of the request schedule starts, in seconds since 1970.
    public var requestsFrom: Double = 0
    /// Where the free part of the token schedule starts, in seconds since 1970.
    public var tokensFrom: Double = 0
    /// No span starts before this (seconds since 1970): the provider said 429 and when to come back.
    public var pausedUntil: Double = 0
    /// The share of the configured pace the fleet keeps: 0.8 times less after each 429, back up a step (÷ 0.8) for
    /// each minute without one.
    public var slowdown: Double = 1
    /// The last 429, or the last step back up (seconds since 1970).
    public var throttledAt: Double = 0

    public init() {}

    /// Spans of the two schedules taken by one call to ``take(requestSeconds:tokenSeconds:now:)``.
    public struct Grant: Sendable, Hashable {
        /// The request span taken (starts no earlier than now), or `nil` when none was asked for.
        public var requests: Range<Date>?
        /// The token span taken, or `nil` when none was asked for.
        public var tokens: Range<Date>?
        /// The slowdown the spans were taken at.
        public var slowdown: Double
    }

    /// Takes the next free span of each schedule that is asked for: `requestSeconds` of the request schedule and
    /// `tokenSeconds` of the token schedule, both at the full pace; the spans are longer by the slowdown.
    public mutating func take(requestSeconds: Double, tokenSeconds: Double, now: Date) -> Grant {
        let now = now.timeIntervalSince1970
        recover(now: now)
        let earliest = max(now, pausedUntil)
        var grant = Grant(slowdown: slowdown)
        if requestSeconds > 0 {
            let start = max(earliest, requestsFrom)
            requestsFrom = start + requestSeconds / slowdown
            grant.requests = Date(timeIntervalSince1970: start)..<Date(timeIntervalSince1970: requestsFrom)
        }
        if tokenSeconds > 0 {
            let start = max(earliest, tokensFrom)
            tokensFrom = start + tokenSeconds / slowdown
            grant.tokens = Date(timeIntervalSince1970: start)..<Date(timeIntervalSince1970: tokensFrom)
        }
        return grant
    }

    /// The provider said 429: no span starts before `now + retryAfter`, and the pace drops to 80%.
    public mutating func throttle(retryAfter: Duration, now: Date) {
        let now = now.timeIntervalSince1970
        pausedUntil = max(pausedUntil, now + retryAfter.timeInterval)
        slowdown = max(Self.slowest, slowdown * Self.step)
        throttledAt = now
    }

    /// A step back towards the full pace for each quiet minute since the last 429 (or the last step).
    mutating func recover(now: Double) {
        while slowdown < 1, now - throttledAt >= Self.recovery {
            slowdown = slowdown / Self.step > 0.999 ? 1 : slowdown / Self.step
            throttledAt += Self.recovery
        }
    }

    public static let step = 0.8
    public static let slowest = 0.1
    /// How long without a 429 before the pace goes up a step.
    static let recovery = 60.0

    /// The name a key's budget is kept under: the endpoint and a hash of the key, never the key itself.
    /// Processes with the same endpoint and key share one budget; a different key (or none) is another budget.
    public static func name(endpoint: String, apiKey: String?) -> String {
        let digest = SHA256.hash(data: Data((endpoint + "\u{1F}" + (apiKey ?? "")).utf8))
        return "key-" + digest.prefix(12).hexDigits
    }
}

/// A store that keeps ``RateBudget``s, so every process on it draws from the same limits.
public protocol RateBudgetStore: Sendable {
    /// Applies `change` to the budget named `name` (a fresh ``RateBudget`` when there is none) atomically with
    /// respect to every other process on the store, saves it and returns what `change` returned. `change` may run
    /// more than once (when another process changed the budget in between); only the last run's result is kept.
    func updateRateBudget<T: Sendable>(
        _ name: String, _ change: @escaping @Sendable (inout RateBudget) -> T
    ) async throws -> T
}
