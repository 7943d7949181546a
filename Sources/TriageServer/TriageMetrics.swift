import Foundation
import Metrics
import NIOCore
import Prometheus
import Synchronization
import TriageCore
import TriageProcessor

/// The service's metrics, through swift-metrics with a Prometheus registry of its own (no process-wide bootstrap,
/// so several applications, as in tests, keep separate figures).
public final class TriageMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["triage_llm_latency_seconds"] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
    }

    /// The Prometheus text exposition of every metric.
    func render() -> String { registry.emitToString() }

    func classified(category: String) {
        Counter(label: "triage_queries_classified_total", dimensions: [("category", category)], factory: factory).increment()
    }

    /// An answer: its category, who gave it (`model` or `examples`), and the tokens it took.
    func answered(_ classification: Classification) {
        classified(category: classification.category)
        Counter(label: "triage_answers_total",
                dimensions: [("source", (classification.answeredBy ?? .model).rawValue)], factory: factory).increment()
        tokens(prompt: classification.promptTokens, completion: classification.completionTokens)
        for (kind, count) in classification.redactions ?? [:] where count > 0 {
            Counter(label: "triage_redactions_total", dimensions: [("kind", kind)], factory: factory)
                .increment(by: count)
        }
    }

    func classificationError(kind: String) {
        Counter(label: "triage_classification_errors_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func failed(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "triage_queries_failed_total", factory: factory).increment(by: count)
    }

    func retried(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "triage_retries_total", factory: factory).increment(by: count)
    }

    func tokens(prompt: Int, completion: Int) {
        Counter(label: "triage_llm_tokens_total", dimensions: [("type", "prompt")], factory: factory).increment(by: prompt)
        Counter(label: "triage_llm_tokens_total", dimensions: [("type", "completion")], factory: factory)
            .increment(by: completion)
    }

    func latency(_ duration: Duration) {
        Timer(label: "triage_llm_latency_seconds", factory: factory).recordNanoseconds(TimeAmount(duration).nanoseconds)
    }

    func inFlight(_ delta: Int) {
        let meter = Meter(label: "triage_llm_requests_in_flight", factory: factory)
        if delta > 0 { meter.increment(by: Double(delta)) } else { meter.decrement(by: Double(-delta)) }
    }

    func runs(active: Int) {
        Meter(label: "triage_runs_active", factory: factory).set(active)
    }

    func progress(total: Int, done: Int) {
        Meter(label: "triage_run_queries", dimensions: [("of", "total")], factory: factory).set(total)
        Meter(label: "triage_run_queries", dimensions: [("of", "done")], factory: factory).set(done)
    }

    /// 1 while the latest run's progress says it is paused for a provider outage, else 0.
    func paused(_ paused: Bool) {
        Meter(label: "triage_run_paused", dimensions: [("reason", "provider_outage")], factory: factory)
            .set(paused ? 1 : 0)
    }

    func backlog(_ summary: StoreSummary) {
        for status in QueryStatus.allCases {
            Meter(label: "triage_store_queries", dimensions: [("status", status.rawValue)], factory: factory)
                .set(summary.count(status))
        }
    }
}

/// Counts what a classifier does — latency, in-flight requests, tokens, outcomes — around any ``Classifier``,
/// offering every capability the base offers (reuse, estimates, the batch API: a test checks each).
struct MeteredClassifier: Classifier {
    let base: any Classifier
    let metrics: TriageMetrics

    var taxonomy: Taxonomy { base.taxonomy }
    var reuseScope: String? { base.reuseScope }
    func estimate(_ query: SupportQuery) -> UsageEstimate? { base.estimate(query) }
    var batches: (any ProviderBatches)? { base.batches.map { MeteredBatches(base: $0, metrics: metrics) } }
    var examplesDecision: ExamplesDecision? { base.examplesDecision }
    func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement? {
        await base.calibrate(forQueries: queries)
    }
    var maxTextBytes: Int? { base.maxTextBytes }

    func answerWithoutCall(_ query: SupportQuery) -> Classification? {
        let answer = base.answerWithoutCall(query)
        if let answer { metrics.answered(answer) }
        return answer
    }

    func classify(_ request: ClassificationRequest) async throws -> Classification {
        metrics.inFlight(1)
        defer { metrics.inFlight(-1) }
        let started = ContinuousClock.now
        do {
            let classification = try await base.classify(request)
            metrics.latency(ContinuousClock.now - started)
            metrics.answered(classification)
            return classification
        } catch let error as ClassifierError {
            metrics.latency(ContinuousClock.now - started)
            metrics.classificationError(kind: error.kind)
            metrics.tokens(prompt: error.promptTokens, completion: error.completionTokens)
            throw error
        }
    }
}

/// Counts the answers a provider batch brings, as ``MeteredClassifier`` counts online ones.
struct MeteredBatches: ProviderBatches {
    let base: any ProviderBatches
    let metrics: TriageMetrics

    var provider: String { base.provider }
    var endpoint: String { base.endpoint }
    var model: String { base.model }
    var maxRequests: Int { base.maxRequests }
    var maxBytes: Int { base.maxBytes }

    func requestBody(for query: SupportQuery) throws -> Data { try base.requestBody(for: query) }
    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String {
        try await base.submit(lines, metadata: metadata)
    }
    func submitted(named name: String, since: Date) async throws -> String? {
        try await base.submitted(named: name, since: since)
    }
    func status(_ providerBatchId: String) async throws -> ProviderBatchStatus { try await base.status(providerBatchId) }
    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult] {
        try await base.results(status)
    }
    func cancel(_ providerBatchId: String) async throws { try await base.cancel(providerBatchId) }

    func classification(from response: JSONValue, for query: SupportQuery) throws -> Classification {
        do {
            let classification = try base.classification(from: response, for: query)
            metrics.answered(classification)
            return classification
        } catch let error as ClassifierError {
            metrics.classificationError(kind: error.kind)
            metrics.tokens(prompt: error.promptTokens, completion: error.completionTokens)
            throw error
        }
    }
}

/// Turns a run's progress snapshots into metric increments.
final class ProgressMeter: Sendable {
    private struct Seen { var failed = 0, retried = 0 }
    private let seen = Mutex(Seen())
    let metrics: TriageMetrics

    init(metrics: TriageMetrics) { self.metrics = metrics }

    func record(_ progress: RunProgress) {
        let (failed, retried) = seen.withLock { seen in
            defer { seen = Seen(failed: progress.failed, retried: progress.retried) }
            return (progress.failed - seen.failed, progress.retried - seen.retried)
        }
        metrics.failed(failed)
        metrics.retried(retried)
        metrics.progress(total: progress.total, done: progress.done)
        metrics.paused(progress.paused != nil)
    }
}
