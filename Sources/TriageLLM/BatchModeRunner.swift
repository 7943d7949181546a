import Foundation
import Logging
import TriageCore

/// `triage run --via batch`: classifies the backlog through the provider's batch API, at the batch price.
///
/// Queries are claimed under a long lease, renewed at every poll. Each batch is recorded in the store before the
/// provider is asked to start it, and its provider id right after, so a run that crashed or was stopped polls the
/// same batches when started again instead of paying for new ones. Each line's `custom_id` is its query's id; the
/// results are validated as online answers are and written in groups, fenced by the claim's lease. A line that
/// errored, expired or answered invalidly goes back to `pending` with its error, and the run submits it again in its
/// next batch (batch mode stays at half price; a retry costs another batch turn-around) until `maxAttempts`.
public struct BatchModeRunner: Sendable {
    public struct Configuration: Sendable {
        /// Stop after this many queries were claimed.
        public var limit: Int?
        /// Lines per batch file; the provider's limit when `nil` (OpenAI 50,000, Anthropic 100,000).
        public var maxRequests: Int?
        /// Bytes per batch file; the provider's limit when `nil` (OpenAI 200 MB, Anthropic 256 MB).
        public var maxBytes: Int?
        /// How often the provider is asked how its batches are doing.
        public var pollInterval: Duration = .seconds(30)
        /// How long a claim lasts unrenewed; renewed at every poll.
        public var leaseDuration: Duration = .seconds(3600)
        public var maxAttempts = 3
        public var owner: String
        /// Take an identical query's stored answer instead of sending it (``Classifier/reuseScope``).
        public var reuse = true
        public var reviewBelow: Double?
        /// How long the batch API may stay unreachable while batches are polled before the run stops (the batches
        /// stay recorded, and the next run polls them).
        public var outageBudget: Duration = .seconds(600)

        public init(owner: String) {
            self.owner = owner
        }
    }

    let store: any QueryStore & ProviderBatchStore
    let classifier: LLMClassifier
    let configuration: Configuration
    let logger: Logger

    public init(store: any QueryStore & ProviderBatchStore, classifier: LLMClassifier, configuration: Configuration,
                logger: Logger) {
        self.store = store
        self.classifier = classifier
        self.configuration = configuration
        self.logger = logger
    }

    private var api: any ProviderBatchAPI { classifier.batchAPI }
    private var provider: String { classifier.configuration.provider.rawValue }
    private var endpoint: String { classifier.configuration.baseURL }
    private var maxRequests: Int {
        configuration.maxRequests ?? (classifier.configuration.provider == .openAI ? 50_000 : 100_000)
    }
    private var maxBytes: Int {
        configuration.maxBytes ?? (classifier.configuration.provider == .openAI ? 200_000_000 : 256_000_000)
    }

    /// Runs until the backlog is done: first the store's unfinished batches of this provider and endpoint, then new
    /// ones. `onProgress` hears a line whenever a batch changes.
    public func run(id: String = UUID().uuidString.lowercased(),
                    onProgress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> RunRecord {
        var run = RunState(statistics: RunStatistics(startedAt: Date()))
        if configuration.reuse, classifier.reuseScope != nil { run.statistics.reused = 0 }
        let options = RunOptions(batchSize: maxRequests, maxConcurrent: 1, maxAttempts: configuration.maxAttempts,
                                 limit: configuration.limit,
                                 classifier: "\(provider):\(classifier.configuration.model) (batch)")
        var record = RunRecord(id: id, owner: configuration.owner, state: .running, options: options,
                               statistics: run.statistics)
        try await store.saveRun(record)
        do {
            let unfinished = try await store.batches(limit: 10_000).filter {
                $0.state != .ingested && $0.provider == provider && $0.endpoint == endpoint
            }
            if !unfinished.isEmpty {
                onProgress("resuming \(unfinished.count) unfinished batch(es) recorded in the store")
            }
            try await follow(unfinished.reversed(), run: &run, runId: id, onProgress: onProgress)
            var taken = 0
            while !run.cancelled, configuration.limit.map({ taken < $0 }) ?? true {
                let want = min(maxRequests, (configuration.limit ?? .max) - taken)
                let claimed = try await store.claim(limit: want, owner: configuration.owner,
                                                    leaseFor: configuration.leaseDuration, now: Date())
                guard !claimed.isEmpty else { break }
                taken += claimed.count
                run.statistics.claimed += claimed.count
                let batches = try await submit(claimed, run: &run, runId: id, onProgress: onProgress)
                try await follow(batches, run: &run, runId: id, onProgress: onProgress)
            }
            record.state = run.cancelled ? .cancelled : .completed
        } catch {
            record.state = .failed
            record.error = "\(error)"
        }
        let finished = Date()
        run.statistics.finishedAt = finished
        run.statistics.durationSeconds = finished.timeIntervalSince(run.statistics.startedAt)
        run.statistics.queriesPerSecond = run.statistics.durationSeconds > 0
            ? Double(run.statistics.classified) / run.statistics.durationSeconds : 0
        record.statistics = run.statistics
        try await store.saveRun(record)
        return record
    }

    /// Cancels a batch at the provider; a run polling it ingests what finished and hands the rest back.
    public func cancel(_ batchId: String) async throws -> ProviderBatch {
        guard var batch = try await store.batch(batchId) else {
            throw ClassifierError.configuration("no batch '\(batchId)' in the store")
        }
        guard let providerBatchId = batch.providerBatchId, !batch.state.providerEnded else { return batch }
        try await api.cancel(providerBatchId)
        batch.state = .cancelling
        batch.updatedAt = Date()
        try await store.saveBatch(batch)
        return batch
    }

    // MARK: - Submitting

    private struct RunState {
        var statistics: RunStatistics
        /// A batch of the run was cancelled (`triage batches cancel`): the run ends after writing what finished.
        var cancelled = false
    }

    /// Answers reusable queries from the store, then sends the rest as batches of at most `maxRequests` lines and
    /// `maxBytes` bytes, each recorded before it is started.
    private func submit(_ claimed: [QueryRecord], run: inout RunState, runId: String,
                        onProgress: @Sendable (String) -> Void) async throws -> [ProviderBatch] {
        var toSend = claimed
        if configuration.reuse, let scope = classifier.reuseScope {
            let keys = claimed.map { $0.query.reuseKey(scope: scope) }
            let found = try await store.reusable(keys)
            var writes: [ResultWrite] = []
            toSend = []
            for (record, key) in zip(claimed, keys) {
                guard let source = found[key], source.id != record.id, let answer = source.answerReused(as: key),
                      let token = record.lease?.token else {
                    toSend.append(record)
                    continue
                }
                writes.append(ResultWrite(id: record.id, token: token, outcome: .classified(answer)))
            }
            let lost = try await store.write(writes)
            for write in writes where !lost.contains(write.id) {
                if case .classified(let answer) = write.outcome { count(answer, run: &run) }
                run.statistics.reused = (run.statistics.reused ?? 0) + 1
            }
            run.statistics.leaseLost += lost.count
            // Identical queries in one batch would each be paid for: only the first is sent. The others are handed
            // back untouched, and the next claim, after this batch is written, finds its answer to reuse.
            var firsts = Set<String>()
            var followers: [QueryRecord] = []
            toSend = toSend.filter { record in
                if firsts.insert(record.query.reuseKey(scope: scope)).inserted { return true }
                followers.append(record)
                return false
            }
            for (token, records) in Dictionary(grouping: followers, by: { $0.lease?.token ?? "" }) where !token.isEmpty {
                run.statistics.released += try await store.release(records.map(\.id), token: token)
            }
        }
        var batches: [ProviderBatch] = []
        var lines: [(customId: String, body: Data)] = []
        var ids: [QueryID] = []
        var bytes = 0
        var token = ""
        func flush() async throws {
            guard !lines.isEmpty else { return }
            var batch = ProviderBatch(id: "tb-" + UUID().uuidString.lowercased(), provider: provider,
                                      endpoint: endpoint, model: classifier.configuration.model, runId: runId,
                                      token: token, queryIds: ids)
            try await store.saveBatch(batch)
            batch.providerBatchId = try await api.submit(lines, metadata: ["triage_batch": batch.id,
                                                                          "triage_run": runId])
            batch.state = .validating
            batch.updatedAt = Date()
            try await store.saveBatch(batch)
            onProgress("batch \(batch.providerBatchId ?? batch.id): submitted \(lines.count) queries")
            batches.append(batch)
            (lines, ids, bytes) = ([], [], 0)
        }
        for record in toSend {
            guard let lease = record.lease else { continue }
            let body = try classifier.requestBody(for: record.query)
            let size = body.count + 100
            if !lines.isEmpty && (lines.count >= maxRequests || bytes + size > maxBytes || lease.token != token) {
                try await flush()
            }
            token = lease.token
            lines.append((record.id.rawValue, body))
            ids.append(record.id)
            bytes += size
        }
        try await flush()
        return batches
    }

    // MARK: - Polling and reading results

    /// Polls the batches until each has ended and its results are written, renewing their claims at every poll.
    private func follow(_ batches: [ProviderBatch], run: inout RunState, runId: String,
                        onProgress: @Sendable (String) -> Void) async throws {
        var open = batches
        for index in open.indices where open[index].providerBatchId == nil {
            // Recorded but never confirmed: the run stopped between the two. If the provider started it (its
            // metadata names it), poll that one; otherwise send it now.
            let name = open[index].id, since = open[index].createdAt
            if let started = try await patiently({ try await api.submitted(named: name, since: since) }) {
                open[index].providerBatchId = started
                open[index].state = .validating
                try await store.saveBatch(open[index])
                onProgress("batch \(started): found at the provider, started before the last run stopped")
                continue
            }
            let records = try await records(open[index].queryIds)
            let lines = try records.map { (customId: $0.id.rawValue, body: try classifier.requestBody(for: $0.query)) }
            open[index].providerBatchId = try await api.submit(lines, metadata: ["triage_batch": open[index].id,
                                                                                "triage_run": runId])
            open[index].state = .validating
            try await store.saveBatch(open[index])
        }
        while !open.isEmpty {
            var stillOpen: [ProviderBatch] = []
            for var batch in open {
                guard let providerBatchId = batch.providerBatchId else { continue }
                let status = try await patiently { try await api.status(providerBatchId) }
                let changed = status.state != batch.state || status.counts != batch.counts
                batch.state = batch.state == .cancelling && !status.state.providerEnded ? .cancelling : status.state
                batch.counts = status.counts
                batch.updatedAt = Date()
                if changed {
                    try await store.saveBatch(batch)
                    onProgress("batch \(providerBatchId): \(batch.state.rawValue), "
                               + "\(status.counts.succeeded + status.counts.failed) of \(status.counts.total) done")
                }
                if status.state.providerEnded {
                    if status.state == .cancelled { run.cancelled = true }
                    try await ingest(batch, status: status, run: &run)
                    batch.state = .ingested
                    batch.updatedAt = Date()
                    try await store.saveBatch(batch)
                } else {
                    _ = try await store.renew(batch.queryIds, token: batch.token,
                                              leaseFor: configuration.leaseDuration, now: Date())
                    stillOpen.append(batch)
                }
            }
            open = stillOpen
            if !open.isEmpty { try await Task.sleep(for: configuration.pollInterval) }
        }
    }

    /// Runs a call to the batch API, waiting out a provider that does not answer (no connection, timeouts, 5xx)
    /// with backoff for up to ``Configuration/outageBudget``: the claims stay leased meanwhile, nothing is spent.
    private func patiently<T>(_ call: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        var delay = Duration.seconds(1)
        while true {
            do {
                return try await call()
            } catch let error as ClassifierError where error.isProviderUnavailable
                && ContinuousClock.now - started < configuration.outageBudget {
                logger.warning("the batch API is not answering; waiting", metadata: ["error": "\(error.message)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(60))
            }
        }
    }

    private func records(_ ids: [QueryID]) async throws -> [QueryRecord] {
        try await store.find(ids)
    }

    /// Writes every line's result: answers validated and classified, failures back to `pending` (or `failed` at
    /// the last attempt) with their error, cancelled lines handed back untouched.
    private func ingest(_ batch: ProviderBatch, status: ProviderBatchStatus, run: inout RunState) async throws {
        let results = try await patiently { try await api.results(status) }
        let groupSize = 1_000
        var start = 0
        while start < batch.queryIds.count {
            let ids = Array(batch.queryIds[start..<min(start + groupSize, batch.queryIds.count)])
            start += groupSize
            // A query no longer held under the batch's claim was written already (a run that stopped while
            // writing this batch) or taken over by another worker: it is not this batch's to write.
            let held = try await records(ids).filter { $0.lease?.token == batch.token }
            // Reading and validating the answers is most of the work: spread over the cores.
            let decisions = await held.concurrentMap { record in
                decide(record, result: results[record.id.rawValue]
                       ?? (batch.state == .cancelled ? .cancelled : .expired), batch: batch)
            }
            var writes: [ResultWrite] = []
            var handBack: [QueryID] = []
            for decision in decisions {
                switch decision {
                case .write(let write, let failure):
                    writes.append(write)
                    if let failure {
                        run.statistics.tokens.prompt += failure.promptTokens
                        run.statistics.tokens.completion += failure.completionTokens
                        run.statistics.costUSD += failure.costUSD
                        run.statistics.errorsByKind[failure.kind, default: 0] += 1
                    }
                case .handBack(let id):
                    handBack.append(id)
                case .askOnline(let record, let failure):
                    run.statistics.tokens.prompt += failure.promptTokens
                    run.statistics.tokens.completion += failure.completionTokens
                    run.statistics.costUSD += failure.costUSD
                    run.statistics.errorsByKind[failure.kind, default: 0] += 1
                    writes.append(await askOnline(record, batch: batch, run: &run))
                }
            }
            let lost = try await store.write(writes)
            run.statistics.leaseLost += lost.count
            for write in writes where !lost.contains(write.id) {
                switch write.outcome {
                case .classified(let answer): count(answer, run: &run)
                case .failed(_, nil): run.statistics.failed += 1
                case .failed: run.statistics.retried += 1
                }
            }
            if !handBack.isEmpty {
                run.statistics.released += try await store.release(handBack, token: batch.token)
            }
        }
    }

    private enum Decision: Sendable {
        /// Write this result; `failure` when it records a failed line.
        case write(ResultWrite, failure: ClassifierError?)
        /// A cancelled line: hand the query back untouched.
        case handBack(QueryID)
        /// An answer that does not validate: asked again online at once, with the repair request that quotes the
        /// problems (the next batch would get the same answer from the same prompt). `failure` is what it spent.
        case askOnline(QueryRecord, failure: ClassifierError)
    }

    /// Classifies a query whose batch answer did not validate through the online path, repair request included.
    private func askOnline(_ record: QueryRecord, batch: ProviderBatch, run: inout RunState) async -> ResultWrite {
        do {
            var answer = try await classifier.classify(ClassificationRequest(id: record.id, query: record.query,
                                                                             attempt: record.attempts))
            if configuration.reuse, let scope = classifier.reuseScope { answer.reuseKey = record.query.reuseKey(scope: scope) }
            if let threshold = configuration.reviewBelow { answer.needsReview = answer.confidence < threshold }
            return ResultWrite(id: record.id, token: batch.token, outcome: .classified(answer))
        } catch {
            let failure = error as? ClassifierError ?? .server("\(error)")
            run.statistics.tokens.prompt += failure.promptTokens
            run.statistics.tokens.completion += failure.completionTokens
            run.statistics.costUSD += failure.costUSD
            run.statistics.errorsByKind[failure.kind, default: 0] += 1
            let recorded = RecordedError(kind: failure.kind, message: failure.message, at: Date())
            let last = record.attempts >= configuration.maxAttempts || failure.scope != .attempt
            return ResultWrite(id: record.id, token: batch.token, outcome: .failed(recorded, retryAt: last ? nil : Date()))
        }
    }

    /// What one line's result makes of its query.
    private func decide(_ record: QueryRecord, result: ProviderBatchLineResult, batch: ProviderBatch) -> Decision {
        let failure: ClassifierError
        switch result {
        case .succeeded(let body):
            do {
                var answer = try classifier.batchClassification(from: body, for: record.query)
                if configuration.reuse, let scope = classifier.reuseScope {
                    answer.reuseKey = record.query.reuseKey(scope: scope)
                }
                if let threshold = configuration.reviewBelow { answer.needsReview = answer.confidence < threshold }
                return .write(ResultWrite(id: record.id, token: batch.token, outcome: .classified(answer)), failure: nil)
            } catch let error as ClassifierError where error.kind == ClassifierError.invalidOutput("").kind {
                return .askOnline(record, failure: error)
            } catch let error as ClassifierError {
                failure = error
            } catch {
                failure = .server("the batch line could not be read: \(error)")
            }
        case .errored(let message):
            failure = .server("the batch line errored: \(message)")
        case .expired:
            failure = .timeout("the batch ended (\(batch.state.rawValue)) before this line was answered")
        case .cancelled:
            return .handBack(record.id)
        }
        let recorded = RecordedError(kind: failure.kind, message: failure.message, at: Date())
        let last = record.attempts >= configuration.maxAttempts
        return .write(ResultWrite(id: record.id, token: batch.token,
                                  outcome: .failed(recorded, retryAt: last ? nil : Date())), failure: failure)
    }

    private func count(_ answer: Classification, run: inout RunState) {
        run.statistics.classified += 1
        run.statistics.byCategory[answer.category, default: 0] += 1
        run.statistics.tokens.prompt += answer.promptTokens
        run.statistics.tokens.completion += answer.completionTokens
        run.statistics.costUSD += answer.costUSD
        if answer.needsReview { run.statistics.needsReview = (run.statistics.needsReview ?? 0) + 1 }
    }
}
