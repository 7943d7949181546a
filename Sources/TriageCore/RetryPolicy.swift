import Foundation

/// Exponential backoff with full jitter: the delay before retry `n` is drawn uniformly from
/// `0...min(maximum, base × 2^(n-1))`, so that many failing clients do not retry in step.
public struct RetryPolicy: Sendable, Hashable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration = .seconds(2), maximum: Duration = .seconds(300)) {
        self.base = base
        self.maximum = maximum
    }

    /// The upper bound of the delay before retry number `retry` (1 for the first retry).
    public func ceiling(forRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 40)
        let scaled = base * (1 << exponent)
        return scaled > maximum || scaled < .zero ? maximum : scaled
    }

    /// A jittered delay before retry number `retry`.
    public func delay(forRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        ceiling(forRetry: retry) * Double.random(in: 0...1, using: &generator)
    }

    /// A jittered delay before retry number `retry`, from the system random generator.
    public func delay(forRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(forRetry: retry, using: &generator)
    }
}

extension Duration {
    /// The duration in seconds, fractions included, for `Date` arithmetic.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
