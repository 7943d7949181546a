import Foundation
import Logging
import TriageCore

/// What happens to one claimed query, online or in a provider batch: an answer the run can give without asking the
/// model (``answerWithoutModel(_:)``), the online attempt itself (``run(_:)``), and the one rule for what an answer
/// or a failure makes of the query (``conclude(_:_:latency:)``), written under the query's lease.
struct QueryAttempt: Sendable {
    let classifier: any Classifier
    let store: StoreAccess
    let configuration: BatchProcessor.Configuration
    let logger: Logger
    /// The run's results, written in groups.
    let writer: GroupedCalls<ResultWrite, Bool>
    /// The run's look-ups of reusable answers, made in groups.
    let reuseLookup: GroupedCalls<String, QueryRecord?>

    init(classifier: any Classifier, store: StoreAccess, configuration: BatchProcessor.Configuration, logger: Logger,
         control: RunControl) {
        self.classifier = classifier
        self.store = store
        self.configuration = configuration
        self.logger = logger
        writer = store.resultWriter(giveUp: { control.abortRequested })
        reuseLookup = store.reuseLookup()
    }

    /// What identifies this query's answer for reuse, when the run reuses answers and the classifier allows it.
    func reuseKey(_ record: QueryRecord) -> String? {
        configuration.reuse ? classifier.reuseScope.map(record.query.reuseKey(scope:)) : nil
    }

    /// An answer the run gives without asking the model: an earlier query's with the same text under the same
    /// model, taxonomy and examples, copied as this query's (marked with its source, no tokens, no cost). `nil` when
    /// there is none, or the store did not say (the model is asked then).
    func answerWithoutModel(_ record: QueryRecord, key: String?? = nil) async -> Classification? {
        guard let key = key ?? reuseKey(record), let source = try? await reuseLookup(key), source.id != record.id else {
            return nil
        }
        return source.answerReused(as: key)
    }

    /// One online attempt: an answer without the model if there is one, else the classifier's; then the result, or
    /// on failure what ``RunStateMachine/disposition(of:attempt:configuration:using:)`` decides, written under the
    /// query's lease.
    func run(_ record: QueryRecord) async -> QueryOutcome {
        var outcome = QueryOutcome(record: record, result: .leaseLost)
        guard record.lease?.token != nil else { return outcome }
        let started = ContinuousClock.now
        // The query's reuse key, hashed once for the look-up and the answer.
        let key = reuseKey(record)
        if let answer = await answerWithoutModel(record, key: key) {
            await land(&outcome, conclude(&outcome, .success(answer), latency: ContinuousClock.now - started))
            return outcome
        }
        let request = ClassificationRequest(id: record.id, query: record.query, attempt: record.attempts)
        do {
            let answer = try await classifier.classify(request)
            await land(&outcome, conclude(&outcome, .success(answer), latency: ContinuousClock.now - started,
                                          reuseKey: key))
        } catch let error as ClassifierError where error.isProviderUnavailable && error.scope == .attempt {
            // Not written: the run decides whether this counts (the provider is up) or not (an outage).
            outcome.result = .unavailable(error)
            outcome.spend(error)
        } catch let error as ClassifierError {
            await land(&outcome, conclude(&outcome, .failure(error), latency: ContinuousClock.now - started))
        } catch is CancellationError {
            outcome.result = .interrupted
        } catch {
            if Task.isCancelled {
                outcome.result = .interrupted
            } else {
                let wrapped = ClassifierError.server("unexpected classifier error: \(error)")
                await land(&outcome, conclude(&outcome, .failure(wrapped), latency: ContinuousClock.now - started))
            }
        }
        return outcome
    }

    /// Records a failure the run held back while it could not tell an outage from this query's trouble, now that
    /// the provider has answered another query: the attempt counts, as any failed attempt does.
    func settle(_ record: QueryRecord, _ error: ClassifierError) async -> QueryOutcome {
        var outcome = QueryOutcome(record: record, result: .leaseLost)
        let write = conclude(&outcome, .failure(error), latency: .zero)
        outcome.settlesHeldFailure = true
        // Its tokens were counted when the attempt first reported it.
        (outcome.promptTokens, outcome.completionTokens, outcome.costUSD) = (0, 0, 0)
        await land(&outcome, write)
        return outcome
    }

    /// The one rule for what an answer or a failure makes of a claimed query, online and in batch mode alike: an
    /// answer is flagged for review under the run's threshold and keyed for reuse, then written; a failure is
    /// retried, failed or stops the run by ``RunStateMachine/disposition(of:attempt:configuration:using:)``, from
    /// the error's scope. Sets `outcome`'s result as decided, adds what the attempt spent to it, and returns the
    /// write it takes (none for a run-level error: the query goes back untouched).
    func conclude(_ outcome: inout QueryOutcome, _ result: Result<Classification, ClassifierError>,
                  latency: Duration, reuseKey key: String?? = nil) -> ResultWrite? {
        let record = outcome.record
        guard let token = record.lease?.token else {
            outcome.result = .leaseLost
            return nil
        }
        switch result {
        case .success(var answer):
            if answer.reusedFrom == nil { answer.reuseKey = key ?? reuseKey(record) }
            answer.latencyMs = latency.timeInterval * 1000
            if let threshold = configuration.reviewBelow { answer.needsReview = answer.confidence < threshold }
            outcome.spend(answer)
            outcome.result = .classified(answer)
            return ResultWrite(id: record.id, token: token, outcome: .classified(answer))
        case .failure(let error):
            outcome.spend(error)
            let recorded = RecordedError(kind: error.kind, message: error.message, at: Date())
            var generator = SystemRandomNumberGenerator()
            switch RunStateMachine.disposition(of: error, attempt: record.attempts, configuration: configuration,
                                               using: &generator) {
            case .stopRun:
                outcome.result = .runStopped(error)
                return nil
            case .fail:
                outcome.result = .failed(recorded)
                return ResultWrite(id: record.id, token: token, outcome: .failed(recorded, retryAt: nil))
            case .retry(let delay):
                let at = Date().addingTimeInterval(delay.timeInterval)
                logger.debug("attempt failed; retry scheduled", metadata: [
                    "query.id": "\(record.id)", "error.kind": "\(error.kind)", "retry.delay": "\(delay)",
                ])
                outcome.result = .retryScheduled(recorded, at: at)
                return ResultWrite(id: record.id, token: token, outcome: .failed(recorded, retryAt: at))
            }
        }
    }

    /// Writes a concluded outcome's result under the query's lease, grouped with the others landing meanwhile; the
    /// outcome becomes ``QueryOutcome/Result/leaseLost`` or ``QueryOutcome/Result/storeFailed(_:)`` if it did not
    /// land.
    func land(_ outcome: inout QueryOutcome, _ write: ResultWrite?) async {
        guard let write else { return }
        do {
            if try await writer(write) { outcome.result = .leaseLost }
        } catch {
            outcome.result = .storeFailed(error)
        }
    }
}

extension QueryOutcome {
    /// Adds what an answer spent.
    mutating func spend(_ answer: Classification) {
        promptTokens += answer.promptTokens
        completionTokens += answer.completionTokens
        costUSD += answer.costUSD
    }

    /// Adds what a failure spent.
    mutating func spend(_ error: ClassifierError) {
        promptTokens += error.promptTokens
        completionTokens += error.completionTokens
        costUSD += error.costUSD
    }
}
