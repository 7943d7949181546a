import Foundation
import Synchronization
import TriageCore

/// A classifier for tests whose every answer is scripted: per query text, a delay and a result for each attempt.
/// It records what it was asked and how many calls were in flight at once.
public final class ScriptedClassifier: Classifier {
    /// What one call does.
    public enum Step: Sendable {
        case succeed(after: Duration = .zero)
        case fail(ClassifierError, after: Duration = .zero)
        /// Succeeds once `count` other calls have finished, or after `timeout` — whichever comes first. A query that
        /// waits for the rest of the backlog this way tells a pipeline from a batch that waits for its slowest.
        case succeedAfterOthers(count: Int, timeout: Duration)
        /// Succeeds once the test opens `gate`: a state the test must observe lasts until it says so, however long
        /// a loaded machine takes to get there.
        case succeedWhenOpen(Gate)
    }

    /// Holds calls until the test opens it.
    public final class Gate: Sendable {
        private let opened = Mutex(false)
        public init() {}
        public func open() { opened.withLock { $0 = true } }
        public var isOpen: Bool { opened.withLock { $0 } }
    }

    private struct State {
        var inFlight = 0
        var maxInFlight = 0
        var calls: [(text: String, attempt: Int, at: ContinuousClock.Instant)] = []
        var finished = 0
    }

    public let taxonomy = Taxonomy.customerSupport
    private let script: @Sendable (ClassificationRequest) -> Step
    private let state = Mutex(State())

    public let maxTextBytes: Int?

    /// - Parameters:
    ///   - maxTextBytes: Longer queries fail as a real classifier's do, before the script runs.
    ///   - script: Decides what each call does.
    public init(maxTextBytes: Int? = nil,
                _ script: @escaping @Sendable (ClassificationRequest) -> Step = { _ in .succeed() }) {
        self.maxTextBytes = maxTextBytes
        self.script = script
    }

    public func classify(_ request: ClassificationRequest) async throws -> Classification {
        if let maxTextBytes, let problem = request.query.oversized(maxTextBytes: maxTextBytes) {
            throw ClassifierError.textTooLong(problem)
        }
        state.withLock {
            $0.inFlight += 1
            $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
            $0.calls.append((request.query.text, request.attempt, .now))
        }
        defer { state.withLock { $0.inFlight -= 1; $0.finished += 1 } }
        switch script(request) {
        case .succeed(let delay):
            if delay > .zero { try await Task.sleep(for: delay) }
            return classification
        case .succeedAfterOthers(let count, let timeout):
            let deadline = ContinuousClock.now + timeout
            while finishedCount < count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return classification
        case .succeedWhenOpen(let gate):
            while !gate.isOpen { try await Task.sleep(for: .milliseconds(5)) }
            return classification
        case .fail(let error, let delay):
            if delay > .zero { try await Task.sleep(for: delay) }
            throw error
        }
    }

    /// Scripted answers are not reused, estimated, or sent in batches.
    public var reuseScope: String? { nil }
    public func estimate(_ query: SupportQuery) -> UsageEstimate? { nil }
    public var batches: (any ProviderBatches)? { nil }
    public func answerWithoutCall(_ query: SupportQuery) -> Classification? { nil }
    public var examplesDecision: ExamplesDecision? { nil }
    public func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement? { nil }

    private var classification: Classification {
        Classification(
            category: "orders_shipping", priority: "normal", sentiment: "neutral", language: "en",
            confidence: 0.9, summary: "scripted", model: "scripted", taxonomyVersion: taxonomy.version,
            promptTokens: 100, completionTokens: 20
        )
    }

    /// The most calls that were in flight at once.
    public var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    /// Calls in flight now.
    public var inFlight: Int { state.withLock { $0.inFlight } }
    /// Calls made so far.
    public var callCount: Int { state.withLock { $0.calls.count } }
    /// Calls that have returned or thrown.
    public var finishedCount: Int { state.withLock { $0.finished } }
    /// The attempts made for one query text, in order.
    public func attempts(for text: String) -> [Int] {
        state.withLock { $0.calls.filter { $0.text == text }.map(\.attempt) }
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
