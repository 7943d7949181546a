import Foundation
import TriageCore

/// What a run would send, spend and take, worked out before it starts (`triage run --dry-run`).
public struct RunEstimate: Sendable, Codable {
    /// Queries the run would take.
    public var queries: Int
    /// Of those, how many would reuse an answer (already stored, or given earlier in the same backlog) and send
    /// nothing.
    public var reused: Int
    /// Of those not reused, how many the retrieved examples would answer alone (``Classifier/answerWithoutCall(_:)``)
    /// and send nothing.
    public var fromExamples: Int = 0
    /// Requests sent: one per query neither reused nor answered by the examples (retries and repair requests not
    /// counted).
    public var requests: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// At the configured prices, online.
    public var costUSD: Double
    /// At the provider's batch prices.
    public var batchCostUSD: Double
    /// How long the run would take, and what sets it (`rpm`, `tpm`, or `concurrency` at ``latencySeconds``);
    /// `nil` when nothing bounds it that the estimate knows of.
    public var seconds: Double?
    public var boundBy: String?
    /// The mean answer time assumed: the last run's with the same classifier, when there was one.
    public var latencySeconds: Double?
    /// Whether the classifier could estimate its requests (the mock and LLM classifiers can).
    public var estimated: Bool

    /// Adds queries one at a time; looks up reusable answers in groups.
    public struct Builder {
        let classifier: any Classifier
        let reuseScope: String?
        private var estimate = RunEstimate(queries: 0, reused: 0, requests: 0, promptTokens: 0, completionTokens: 0,
                                           costUSD: 0, batchCostUSD: 0, estimated: true)
        /// Hashes of the reuse keys seen in this backlog: 8 bytes a query, however long the backlog.
        private var seen: Set<Int> = []
        /// First occurrences whose key may be stored already, with what they would cost if not.
        /// (`nil` usage: the examples would answer it.)
        private var unsure: [(key: String, usage: UsageEstimate?)] = []

        /// - Parameter reuse: The classifier's ``Classifier/reuseScope`` when the run would reuse answers.
        public init(classifier: any Classifier, reuse: String?) {
            self.classifier = classifier
            self.reuseScope = reuse
        }

        public mutating func add(_ query: SupportQuery, store: any QueryStore) async throws {
            estimate.queries += 1
            let usage: UsageEstimate?
            if classifier.answerWithoutCall(query) != nil {
                usage = nil
            } else if let estimated = classifier.estimate(query) {
                usage = estimated
            } else {
                estimate.estimated = false
                estimate.requests += 1
                return
            }
            guard let scope = reuseScope else { return count(usage) }
            let key = query.reuseKey(scope: scope)
            guard seen.insert(key.hashValue).inserted else {
                estimate.reused += 1
                return
            }
            unsure.append((key, usage))
            if unsure.count >= 500 { try await finishReuse(store: store) }
        }

        /// Settles the queries waiting for their look-up.
        public mutating func finishReuse(store: any QueryStore) async throws {
            let found = try await store.reusable(unsure.map(\.key))
            for (key, usage) in unsure {
                if found[key] != nil { estimate.reused += 1 } else { count(usage) }
            }
            unsure = []
        }

        private mutating func count(_ usage: UsageEstimate?) {
            guard let usage else {
                estimate.fromExamples += 1
                return
            }
            estimate.requests += 1
            estimate.promptTokens += usage.promptTokens
            estimate.completionTokens += usage.completionTokens
            estimate.costUSD += usage.costUSD
            estimate.batchCostUSD += usage.batchCostUSD
        }

        /// The estimate, with the time the requests take under the limits: the slowest of the request rate, the
        /// token rate, and the slots kept busy for the assumed answer time.
        public func estimate(requestsPerMinute: Double?, tokensPerMinute: Double?, concurrency: Int,
                             latencySeconds: Double?) -> RunEstimate {
            var result = estimate
            result.latencySeconds = latencySeconds
            let requests = Double(result.requests)
            let bounds: [(String, Double?)] = [
                ("rpm", requestsPerMinute.map { requests / $0 * 60 }),
                ("tpm", tokensPerMinute.map { Double(result.promptTokens + result.completionTokens) / $0 * 60 }),
                ("concurrency", latencySeconds.map { requests * $0 / Double(max(1, concurrency)) }),
            ]
            if let slowest = bounds.compactMap({ name, seconds in seconds.map { (name, $0) } }).max(by: { $0.1 < $1.1 }) {
                result.boundBy = slowest.0
                result.seconds = slowest.1
            }
            return result
        }
    }
}
