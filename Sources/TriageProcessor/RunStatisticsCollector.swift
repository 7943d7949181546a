import Foundation
import Histogram
import TriageCore

/// Accumulates a run's outcomes in constant memory (latencies go into an HDR histogram, not an array).
struct RunStatisticsCollector {
    private(set) var statistics: RunStatistics
    private var latencyMicros = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    private let clockStart = ContinuousClock.now

    /// The taxonomy's category names, to count expected labels it cannot match.
    private let categories: Set<String>

    init(startedAt: Date, reviewing: Bool = false, reusing: Bool = false, categories: Set<String> = []) {
        statistics = RunStatistics(startedAt: startedAt)
        self.categories = categories
        if reviewing { statistics.needsReview = 0 }
        if reusing { statistics.reused = 0 }
    }

    var elapsedSeconds: Double {
        (ContinuousClock.now - clockStart).timeInterval
    }

    mutating func claimed(_ count: Int) {
        statistics.claimed += count
    }

    mutating func released(_ count: Int) {
        statistics.released += count
    }

    mutating func record(_ outcome: QueryOutcome) {
        statistics.tokens.prompt += outcome.promptTokens
        statistics.tokens.completion += outcome.completionTokens
        statistics.costUSD += outcome.costUSD
        switch outcome.result {
        case .classified(let classification):
            statistics.classified += 1
            statistics.byCategory[classification.category, default: 0] += 1
            if let cached = classification.cachedPromptTokens, cached > 0 {
                statistics.tokens.cachedPrompt = (statistics.tokens.cachedPrompt ?? 0) + cached
            }
            if classification.needsReview { statistics.needsReview = (statistics.needsReview ?? 0) + 1 }
            if classification.reusedFrom != nil { statistics.reused = (statistics.reused ?? 0) + 1 }
            let source = classification.reusedFrom != nil ? "reused" : (classification.answeredBy ?? .model).rawValue
            // Mutated in place: a copy taken out and put back would copy the dictionary for every answer.
            if statistics.answersBySource == nil { statistics.answersBySource = [:] }
            statistics.answersBySource![source, default: RunStatistics.AnswerSource()].count += 1
            if let expected = outcome.record.query.expected?.category {
                let agreement = statistics.expectedLabels ?? .init()
                let right = expected == classification.category ? 1 : 0
                let unknown = categories.isEmpty || categories.contains(expected) ? 0 : 1
                statistics.expectedLabels = .init(
                    scored: agreement.scored + 1, correct: agreement.correct + right,
                    unknown: unknown + (agreement.unknown ?? 0) > 0 ? unknown + (agreement.unknown ?? 0) : nil)
                statistics.answersBySource![source]!.scored += 1
                statistics.answersBySource![source]!.correct += right
            }
            if let problems = classification.fieldProblems, !problems.isEmpty {
                statistics.fieldProblems = (statistics.fieldProblems ?? 0) + 1
            }
            if let redactions = classification.redactions, !redactions.isEmpty {
                statistics.redactions = (statistics.redactions ?? [:]).merging(redactions, uniquingKeysWith: +)
            }
            // Latency is the model's; a reused answer, or the examples', asked nothing of it.
            if classification.reusedFrom == nil && classification.answeredBy != .examples {
                _ = latencyMicros.record(UInt64(max(0, classification.latencyMs * 1000)))
            }
        case .retryScheduled(let error, _):
            statistics.retried += 1
            if !outcome.settlesHeldFailure { statistics.errorsByKind[error.kind, default: 0] += 1 }
        case .failed(let error):
            statistics.failed += 1
            if !outcome.settlesHeldFailure { statistics.errorsByKind[error.kind, default: 0] += 1 }
        case .leaseLost:
            statistics.leaseLost += 1
        case .runStopped(let error), .unavailable(let error):
            statistics.errorsByKind[error.kind, default: 0] += 1
        case .interrupted, .storeFailed:
            break
        }
    }

    /// What a failed answer cost that is not an attempt's outcome (a batch answer that did not validate, asked
    /// again online).
    mutating func spent(_ error: ClassifierError) {
        statistics.tokens.prompt += error.promptTokens
        statistics.tokens.completion += error.completionTokens
        statistics.costUSD += error.costUSD
        statistics.errorsByKind[error.kind, default: 0] += 1
    }

    /// What measuring the model on the example pool cost at the run's start (``Classifier/calibrate(forQueries:)``).
    mutating func spent(_ measurement: ExamplesDecision.ModelMeasurement) {
        statistics.tokens.prompt += measurement.promptTokens
        statistics.tokens.completion += measurement.completionTokens
        statistics.costUSD += measurement.costUSD
    }

    /// The statistics as of now, with derived figures filled in.
    func snapshot(finished: Bool) -> RunStatistics {
        var result = statistics
        result.durationSeconds = elapsedSeconds
        if finished { result.finishedAt = result.startedAt.addingTimeInterval(result.durationSeconds) }
        result.queriesPerSecond = result.durationSeconds > 0 ? Double(result.classified) / result.durationSeconds : 0
        if latencyMicros.totalCount > 0 {
            func ms(_ micros: UInt64) -> Double { (Double(micros) / 1000 * 10).rounded() / 10 }
            result.latencyMs = RunStatistics.Latency(
                p50: ms(latencyMicros.valueAtPercentile(50)),
                p95: ms(latencyMicros.valueAtPercentile(95)),
                p99: ms(latencyMicros.valueAtPercentile(99)),
                mean: (latencyMicros.mean / 1000 * 10).rounded() / 10,
                max: ms(latencyMicros.max)
            )
        }
        return result
    }
}
