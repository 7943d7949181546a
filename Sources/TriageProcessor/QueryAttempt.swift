import Foundation
import Logging
import TriageCore

/// One attempt of one claimed query: classify it, then write the result — or, on failure, what
/// ``RunStateMachine/disposition(of:attempt:configuration:using:)`` decides — under the query's lease.
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

    /// The answer of an earlier query with the same text under the same model, taxonomy and examples, copied as
    /// this query's: marked with its source, no tokens, no cost. `nil` when there is none, or the store did not
    /// say (the model is asked then).
    private func reusable(_ reuseKey: String, for record: QueryRecord) async -> Classification? {
        guard let source = try? await reuseLookup(reuseKey), source.id != record.id else { return nil }
        return source.answerReused(as: reuseKey)
    }

    func run(_ record: QueryRecord) async -> QueryOutcome {
        guard let token = record.lease?.token else {
            return QueryOutcome(record: record, result: .leaseLost)
        }
        let started = ContinuousClock.now
        let request = ClassificationRequest(id: record.id, query: record.query, attempt: record.attempts)
        do {
            let reuseKey = configuration.reuse ? classifier.reuseScope.map(record.query.reuseKey(scope:)) : nil
            var classification: Classification
            if let reuseKey, let earlier = await reusable(reuseKey, for: record) {
                classification = earlier
            } else {
                classification = try await classifier.classify(request)
                classification.reuseKey = reuseKey
            }
            classification.latencyMs = (ContinuousClock.now - started).timeInterval * 1000
            if let threshold = configuration.reviewBelow {
                classification.needsReview = classification.confidence < threshold
            }
            var outcome = QueryOutcome(record: record, result: .classified(classification))
            outcome.promptTokens = classification.promptTokens
            outcome.completionTokens = classification.completionTokens
            outcome.costUSD = classification.costUSD
            outcome.result = await write(.classified(classification), of: record, token: token)
            return outcome
        } catch let error as ClassifierError where error.isProviderUnavailable && error.scope == .attempt {
            var outcome = QueryOutcome(record: record, result: .unavailable(error))
            outcome.promptTokens = error.promptTokens
            outcome.completionTokens = error.completionTokens
            outcome.costUSD = error.costUSD
            return outcome
        } catch let error as ClassifierError {
            var outcome = QueryOutcome(record: record, result: .interrupted)
            outcome.promptTokens = error.promptTokens
            outcome.completionTokens = error.completionTokens
            outcome.costUSD = error.costUSD
            outcome.result = await recordFailure(error, of: record, token: token)
            return outcome
        } catch is CancellationError {
            return QueryOutcome(record: record, result: .interrupted)
        } catch {
            if Task.isCancelled { return QueryOutcome(record: record, result: .interrupted) }
            let wrapped = ClassifierError.server("unexpected classifier error: \(error)")
            return QueryOutcome(
                record: record, result: await recordFailure(wrapped, of: record, token: token)
            )
        }
    }

    /// Records a failure the run held back while it could not tell an outage from this query's trouble, now that
    /// the provider has answered another query: the attempt counts, as any failed attempt does.
    func settle(_ record: QueryRecord, _ error: ClassifierError) async -> QueryOutcome {
        guard let token = record.lease?.token else { return QueryOutcome(record: record, result: .leaseLost) }
        var outcome = QueryOutcome(record: record,
                                   result: await recordFailure(error, of: record, token: token))
        outcome.settlesHeldFailure = true
        return outcome
    }

    private func recordFailure(
        _ error: ClassifierError, of record: QueryRecord, token: String
    ) async -> QueryOutcome.Result {
        let recorded = RecordedError(kind: error.kind, message: error.message, at: Date())
        var generator = SystemRandomNumberGenerator()
        let retryAt: Date
        switch RunStateMachine.disposition(of: error, attempt: record.attempts, configuration: configuration,
                                           using: &generator) {
        case .stopRun:
            return .runStopped(error)
        case .fail:
            return await write(.failed(recorded, retryAt: nil), of: record, token: token)
        case .retry(let delay):
            retryAt = Date().addingTimeInterval(delay.timeInterval)
            logger.debug("attempt failed; retry scheduled", metadata: [
                "query.id": "\(record.id)", "error.kind": "\(error.kind)", "retry.delay": "\(delay)",
            ])
        }
        return await write(.failed(recorded, retryAt: retryAt), of: record, token: token)
    }

    /// Writes a result under the query's lease, grouped with the others landing meanwhile.
    private func write(_ result: ResultWrite.Outcome, of record: QueryRecord, token: String) async -> QueryOutcome.Result {
        do {
            if try await writer(ResultWrite(id: record.id, token: token, outcome: result)) { return .leaseLost }
        } catch {
            return .storeFailed(error)
        }
        return switch result {
        case .classified(let classification): .classified(classification)
        case .failed(let error, retryAt: nil): .failed(error)
        case .failed(let error, retryAt: let at?): .retryScheduled(error, at: at)
        }
    }
}
