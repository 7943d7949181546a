import Foundation
import TriageCore

/// A snapshot of a run in progress, emitted whenever a query finishes.
public struct RunProgress: Sendable, Hashable, Codable {
    public var runId: String
    public var state: RunState
    /// Queries the run expects to finish (eligible at start, capped by the limit).
    public var total: Int
    public var classified: Int
    public var failed: Int
    /// Failed attempts scheduled for another try.
    public var retried: Int
    public var inFlight: Int
    public var elapsedSeconds: Double
    /// Why the run is paused (a provider outage), when it is.
    public var paused: String?
    /// In batch mode: the provider batches the run follows, as last polled.
    public var batches: [BatchProgress]?
    /// In batch mode: queries gathered for the next batch.
    public var gathering: Int?

    public init(
        runId: String, state: RunState, total: Int, classified: Int, failed: Int, retried: Int, inFlight: Int,
        elapsedSeconds: Double
    ) {
        self.runId = runId
        self.state = state
        self.total = total
        self.classified = classified
        self.failed = failed
        self.retried = retried
        self.inFlight = inFlight
        self.elapsedSeconds = elapsedSeconds
    }

    /// Queries that reached a final state.
    public var done: Int { classified + failed }

    /// Finished queries per second so far.
    public var rate: Double { elapsedSeconds > 0 ? Double(done) / elapsedSeconds : 0 }

    /// Seconds left at the current rate, when it can be estimated.
    public var etaSeconds: Double? {
        guard rate > 0, total >= done else { return nil }
        return Double(total - done) / rate
    }

    /// Fraction done, in `0...1`.
    public var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 1 }
}
