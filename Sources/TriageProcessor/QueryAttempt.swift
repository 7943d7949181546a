import Foundation
import Logging
import TriageCore

/// What happens to one claimed query, online or in a provider batch: an answer the run can give without asking the
/// model (``answerWithoutModel(_:)``), the online attempt itself (``run(_:)``), and the one rule for what an answer
/// or a failure makes of the query (``concluded(_:_:latency:)``), written under the query's lease.
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
    func answerWithoutModel(_ record: QueryRecord) async -> Classification? {
        guard let key = reuseKey(record), let source = try? await reuseLookup(key), source.id != record.id else {
            return nil
        }
        return source.answerReused(as: key)
    }

    /// One online attempt: an answer without the model if there is one, else the classifier's; then the result, or
    /// on failure what ``RunStateMachine/disposition(of:attempt:configuration:using:)`` decides, written under the
    /// query's lease.
    func run(_ record: QueryRecord) async -> QueryOutcome {
        guard record.lease?.token != nil else { return QueryOutcome(record: record, result: .leaseLost) }
        let started = ContinuousClock.now
        if let answer = await answerWithoutModel(record) {
            return await write(concluded(record, .success(answer), latency: ContinuousClock.now - started))
        }
        let request = ClassificationRequest(id: record.id, query: record.query, attempt: record.attempts)
        do {
            let answer = try await classifier.classify(request)
            return await write(concluded(record, .success(answer), latency: ContinuousClock.now - started))
        } catch let error as ClassifierError where error.isProviderUnavailable && error.scope == .attempt {
            // Not written: the run decides whether this counts (the provider is up) or not (an outage).
            var outcome = QueryOutcome(record: record, result: .unavailable(error))
            outcome.spend(error)
            return outcome
        } catch let error as ClassifierError {
            return await write(concluded(record, .failure(error), latency: ContinuousClock.now - started))
        } catch is CancellationError {
            return QueryOutcome(record: record, result: .interrupted)
        } catch {
            if Task.isCancelled { return QueryOutcome(record: record, result: .interrupted) }
            let wrapped = ClassifierError.server("unexpected classifier error: \(error)")
            return await write(concluded(record, .failure(wrapped), latency: ContinuousClock.now - started))
        }
    }

    /// Records a failure the run held back while it could not tell an outage from this query's trouble, now that
    /// the provider has answered another query: the attempt counts, as any failed attempt does.
    func settle(_ record: QueryRecord, _ error: ClassifierError) async -> QueryOutcome {
        var concluded = concluded(record, .failure(error), latency: .zero)
        concluded.outcome.settlesHeldFailure = true
        // Its tokens were counted when the attempt first reported it.
        (concluded.outcome.promptTokens, concluded.outcome.completionTokens, concluded.outcome.costUSD) = (0, 0, 0)
        return await write(concluded)
    }

    /// An outcome decided and the write it takes (none for a run-level error: the query goes back untouched).
    struct Concluded: Sendable {
        var outcome: QueryOutcome
        var write: ResultWrite?
    }

    /// The one rule for what an answer or a failure makes of a claimed query, online and in batch mode alike: an
    /// answer is flagged for review under the run's threshold and keyed for reuse, then written; a failure is
    /// retried, failed or stops the run by ``RunStateMachine/disposition(of:attempt:configuration:using:)``, from
    /// the error's scope. What the attempt spent rides on the outcome.
    func concluded(_ record: QueryRecord, _ result: Result<Classification, ClassifierError>,
                   latency: Duration) -> Concluded {
        var outcome = QueryOutcome(record: record, result: .interrupted)
        guard let token = record.lease?.token else {
            outcome.result = .leaseLost
            return Concluded(outcome: outcome, write: nil)
        }
        switch result {
        case .success(var answer):
            if answer.reusedFrom == nil { answer.reuseKey = reuseKey(record) }
            answer.latencyMs = latency.timeInterval * 1000
            if let threshold = configuration.reviewBelow { answer.needsReview = answer.confidence < threshold }
            outcome.spend(answer)
            outcome.result = .classified(answer)
            return Concluded(outcome: outcome, write: ResultWrite(id: record.id, token: token,
                                                                  outcome: .classified(answer)))
        case .failure(let error):
            outcome.spend(error)
            let recorded = RecordedError(kind: error.kind, message: error.message, at: Date())
            var generator = SystemRandomNumberGenerator()
            switch RunStateMachine.disposition(of: error, attempt: record.attempts, configuration: configuration,
                                               using: &generator) {
            case .stopRun:
                outcome.result = .runStopped(error)
                return Concluded(outcome: outcome, write: nil)
            case .fail:
                outcome.result = .failed(recorded)
                return Concluded(outcome: outcome, write: ResultWrite(id: record.id, token: token,
                                                                      outcome: .failed(recorded, retryAt: nil)))
            case .retry(let delay):
                let at = Date().addingTimeInterval(delay.timeInterval)
                logger.debug("attempt failed; retry scheduled", metadata: [
                    "query.id": "\(record.id)", "error.kind": "\(error.kind)", "retry.delay": "\(delay)",
                ])
                outcome.result = .retryScheduled(recorded, at: at)
                return Concluded(outcome: outcome, write: ResultWrite(id: record.id, token: token,
                                                                      outcome: .failed(recorded, retryAt: at)))
            }
        }
    }

    /// Writes a concluded outcome under the query's lease, grouped with the others landing meanwhile.
    func write(_ concluded: Concluded) async -> QueryOutcome {
        guard let write = concluded.write else { return concluded.outcome }
        do {
            return concluded.outcome.landed(leaseLost: try await writer(write))
        } catch {
            return concluded.outcome.landed(storeError: error)
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

    /// The outcome once its write was tried: as decided, or ``Result/leaseLost`` when the lease was lost.
    func landed(leaseLost: Bool) -> QueryOutcome {
        var outcome = self
        if leaseLost { outcome.result = .leaseLost }
        return outcome
    }

    /// The outcome when the store refused its write for a reason other than fencing: the run stops.
    func landed(storeError: any Error) -> QueryOutcome {
        var outcome = self
        outcome.result = .storeFailed(storeError)
        return outcome
    }
}
