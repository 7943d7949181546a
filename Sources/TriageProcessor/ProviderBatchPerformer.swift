import Foundation
import Logging
import TriageCore

/// One line of a batch being gathered: a claimed query the run will send, and the body it sends.
struct BatchLine: Sendable, Hashable {
    var record: QueryRecord
    var body: Data
    /// Identical queries share it: only one of them is sent (``RunStateMachine``'s batch state holds the others).
    var reuseKey: String?

    var size: Int { body.count + ProviderBatchPerformer.lineOverhead }
}

/// How one line of a batch the run read ended, for the run to account for.
enum BatchLineOutcome: Sendable {
    /// Decided by the one rule (``QueryAttempt/conclude(_:_:latency:)``); its record keeps what the run counts.
    case concluded(QueryOutcome)
    /// The answer did not validate: asked again online at once, repair request included (the next batch would get
    /// the same answer to the same prompt). `spent` is what the batch answer cost.
    case repairOnline(QueryRecord, spent: ClassifierError)
    /// A cancelled line: handed back untouched.
    case handBack(RunStateMachine.Claim)
    /// A query identical to a line, held for its answer: prepared again, it takes it.
    case prepareAgain(QueryRecord)
}

/// Performs what batch mode asks of a run (``RunStateMachine`` decides it): finds the batches a stopped run left,
/// prepares claimed queries (an answer without the model, or a line to send), submits a batch (recorded in the store
/// before the provider is asked to start it, and its provider id right after), polls it, and reads it — each line's
/// result concluded by the same rule as an online attempt, written in groups under the lease it was claimed with.
struct ProviderBatchPerformer: Sendable {
    let batches: any ProviderBatches
    let attempt: QueryAttempt
    let store: StoreAccess
    let settings: BatchProcessor.Configuration.Batch
    /// Holds the batches this run follows (``ProviderBatchStore/holdBatches(_:holder:until:now:)``).
    let runId: String
    let logger: Logger
    /// Gives up waiting out an unreachable store.
    let giveUp: @Sendable () -> Bool

    /// Bytes a line takes beyond its body: the `custom_id` and the framing of the provider's format.
    static let lineOverhead = 160
    /// Results are read from the store, validated and written this many at a time.
    static let ingestGroup = 1_000

    /// The batches of this provider and endpoint that no live run follows (a run that stopped or died left them),
    /// now held by this run; `following` are the ones it follows already.
    /// - Returns: Those batches, and how many others another run holds.
    func resume(following: Set<String>) async throws -> (adopted: [ProviderBatch], heldElsewhere: Int) {
        let unfinished = try await store.reconnecting("resume batches", giveUp: giveUp) { [store, batches] in
            try await store.store.unfinishedBatches(provider: batches.provider, endpoint: batches.endpoint)
        }.filter { !following.contains($0.id) }
        guard !unfinished.isEmpty else { return ([], 0) }
        let held = try await hold(unfinished.map(\.id))
        return (unfinished.filter { held.contains($0.id) }, unfinished.count - held.count)
    }

    /// Holds batches for this run for another ``BatchProcessor/Configuration/Batch/holdDuration``.
    private func hold(_ ids: [String], for duration: Duration? = nil) async throws -> Set<String> {
        let until = Date().addingTimeInterval((duration ?? settings.holdDuration).timeInterval)
        return try await store.reconnecting("hold batches", giveUp: giveUp) { [store, runId] in
            try await store.store.holdBatches(ids, holder: runId, until: until, now: Date())
        }
    }

    /// Runs `body` (a submission, which may take minutes to upload) while renewing this run's hold on the batch.
    private func holding<T: Sendable>(_ id: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { [settings] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: settings.holdDuration / 3)
                    _ = try? await hold([id])
                }
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    /// For each record: an answer without a call (an identical query's, or the examples'), written now; or the line
    /// to send.
    func prepare(_ records: [QueryRecord]) async -> (outcomes: [QueryOutcome], lines: [BatchLine]) {
        await withTaskGroup(of: (QueryOutcome?, BatchLine?).self) { group in
            for record in records {
                group.addTask { [attempt, batches] in
                    var outcome = QueryOutcome(record: record, result: .leaseLost)
                    let answer = await attempt.answerWithoutModel(record) ?? attempt.classifier.answerWithoutCall(record.query)
                    if let answer {
                        await attempt.land(&outcome, attempt.conclude(&outcome, .success(answer), latency: .zero))
                        return (outcome, nil)
                    }
                    do {
                        return (nil, BatchLine(record: record, body: try batches.requestBody(for: record.query),
                                               reuseKey: attempt.reuseKey(record)))
                    } catch {
                        let failure = error as? ClassifierError
                            ?? ClassifierError.rejected("the request could not be built: \(error)")
                        await attempt.land(&outcome, attempt.conclude(&outcome, .failure(failure), latency: .zero))
                        return (outcome, nil)
                    }
                }
            }
            var outcomes: [QueryOutcome] = []
            var lines: [BatchLine] = []
            for await (outcome, line) in group {
                if let outcome { outcomes.append(outcome) }
                if let line { lines.append(line) }
            }
            return (outcomes, lines.sorted { $0.record.id < $1.record.id })
        }
    }

    /// Records a batch of these lines, then asks the provider to start it and records its id.
    /// - Returns: The batch as recorded, and why the provider did not start it, if it did not. A batch whose
    ///   submission found the provider unreachable is still recorded without its id: polling it asks the provider
    ///   whether it started it after all, and submits it only if it did not.
    func submit(_ lines: [BatchLine], followers: [QueryRecord]) async -> (ProviderBatch, ClassifierError?) {
        func claims(_ records: [QueryRecord]) -> [ProviderBatch.Claims] {
            Dictionary(grouping: records, by: { $0.lease?.token ?? "" })
                .map { ProviderBatch.Claims(token: $0.key, queryIds: $0.value.map(\.id)) }
                .sorted { $0.token < $1.token }
        }
        var batch = ProviderBatch(id: "tb-" + UUID().uuidString.lowercased(), provider: batches.provider,
                                  endpoint: batches.endpoint, model: batches.model, runId: runId,
                                  claims: claims(lines.map(\.record)))
        batch.followers = claims(followers)
        do {
            try await save(batch)
            _ = try await hold([batch.id])
        } catch {
            return (batch, .server("the batch could not be recorded in the store: \(error)"))
        }
        do {
            let (lines, metadata, batches) = (lines, metadata(batch), self.batches)
            batch.providerBatchId = try await holding(batch.id) {
                try await batches.submit(lines.map { ProviderBatchLine(customId: $0.record.id.rawValue, body: $0.body) },
                                         metadata: metadata)
            }
            batch.state = .validating
        } catch {
            let failure = Self.classifierError(error)
            batch.error = failure.message
            // Refused for good: the batch is over (a run-level refusal hands its queries back, another ends them
            // with the error). Unanswered or rate-limited: the provider may have it; polling it asks, then sends.
            if failure.scope == .run { batch.state = .ingested } else if !Self.waitsOut(failure) { batch.state = .failed }
            try? await save(batch)
            return (batch, failure)
        }
        batch.updatedAt = Date()
        try? await save(batch)
        logger.info("batch submitted", metadata: [
            "batch.id": "\(batch.id)", "batch.provider_id": "\(batch.providerBatchId ?? "")",
            "batch.lines": "\(lines.count)",
        ])
        return (batch, nil)
    }

    /// How a poll ended.
    enum Poll: Sendable {
        /// The provider's answer, and the batch as recorded now.
        case status(ProviderBatch, ProviderBatchStatus)
        /// The provider did not answer (or refused); the batch as recorded now (it may have gained its provider id).
        case failed(ProviderBatch, ClassifierError)
        /// Another run holds the batch now (this one stalled past its hold): it follows it.
        case heldElsewhere
        /// The provider does not have the batch: it is over, and its lines end with this error.
        case gone(ProviderBatch, ClassifierError)
    }

    /// Asks the provider how a batch is doing, renews this run's hold on it, and records what changed. A batch
    /// recorded without the provider's id (the run stopped between the two, or the provider did not answer the
    /// submission) is first looked for at the provider by its name, and submitted only if the provider does not
    /// have it; one whose queries are no longer held (taken over long ago) is over.
    func poll(_ batch: ProviderBatch) async -> Poll {
        var batch = batch
        do {
            guard try await hold([batch.id]).contains(batch.id) else { return .heldElsewhere }
            if batch.providerBatchId == nil {
                if let started = try await batches.submitted(named: batch.id, since: batch.createdAt) {
                    batch.providerBatchId = started
                    logger.info("batch found at the provider, started before the run that sent it stopped",
                                metadata: ["batch.id": "\(batch.id)", "batch.provider_id": "\(started)"])
                } else {
                    let held = try await heldRecords(batch)
                    guard !held.isEmpty else {
                        batch.state = .ingested
                        batch.error = "none of its queries is held any more: nothing to send"
                        try await save(batch)
                        return .status(batch, ProviderBatchStatus(state: .ingested, counts: batch.counts))
                    }
                    let (batches, metadata, id) = (self.batches, metadata(batch), batch.id)
                    // Shielded, and the hold renewed meanwhile: once the provider may be starting it, its id must
                    // reach the store.
                    batch.providerBatchId = try await StoreAccess.shielded { [self] in
                        try await holding(id) {
                            try await batches.submit(try held.map {
                                ProviderBatchLine(customId: $0.id.rawValue, body: try batches.requestBody(for: $0.query))
                            }, metadata: metadata)
                        }
                    }
                }
                batch.state = .validating
                batch.updatedAt = Date()
                try await save(batch)
            }
            let status: ProviderBatchStatus
            do {
                status = try await batches.status(batch.providerBatchId ?? "")
            } catch let error as ClassifierError where error.kind == ClassifierError.configuration("").kind
                && error.message.contains("HTTP 404") {
                // The provider does not know the batch (another key, or long gone): it is over, and its lines end
                // with that, counted as a failed attempt each.
                return .gone(batch, .server("the provider has no batch \(batch.providerBatchId ?? batch.id)"))
            }
            let changed = status.state != batch.state || status.counts != batch.counts
            // A cancel asked for through `triage batches cancel` shows until the provider says it ended.
            batch.state = batch.state == .cancelling && !status.state.providerEnded ? .cancelling : status.state
            batch.counts = status.counts
            if changed {
                batch.updatedAt = Date()
                try await save(batch)
            }
            return .status(batch, status)
        } catch {
            return .failed(batch, Self.classifierError(error))
        }
    }

    /// Whether a batch API call's failure is waited out (polled again later), not taken as the batch's end: no
    /// answer, a 5xx, or a 429.
    static func waitsOut(_ error: ClassifierError) -> Bool {
        error.isProviderUnavailable || error.kind == ClassifierError.rateLimited("").kind
    }

    /// What a batch's lines make of their queries: each line's result, validated, concluded by the one rule and
    /// written in groups, under the lease its query is held with. A query the batch no longer holds (written by an
    /// earlier run that stopped while reading it, or taken over by another worker) is not the batch's to write.
    /// - Parameter refusal: The provider refused the batch as a whole: every line ends with this error.
    /// - Returns: The outcomes of the lines written, and what stopped the read before its end, if anything (the
    ///   batch is then read again later: what was written is no longer held, so it is not written twice).
    func ingest(_ batch: ProviderBatch, status: ProviderBatchStatus?, refusal: ClassifierError?) async
        -> (outcomes: [BatchLineOutcome], failure: ClassifierError?) {
        var fetched: [String: ProviderBatchLineResult] = [:]
        do {
            if let status, status.state != .ingested { fetched = try await batches.results(status) }
        } catch {
            return ([], Self.classifierError(error))
        }
        let results = fetched
        fetched = [:]
        let ended = batch.state
        let written = batch.createdAt
        var lineOutcomes: [BatchLineOutcome] = []
        // A group's write runs while the next group is read and decided: the writer and the cores work at once.
        var writing: (decided: [BatchLineOutcome], writes: [ResultWrite], lost: Task<[Bool], any Error>)?
        /// Waits for the group being written, and counts its outcomes (a lost lease, found in the write, is one).
        func landed() async throws {
            guard let (decided, writes, task) = writing else { return }
            writing = nil
            let lost = try await task.value
            let lostIDs = Set(zip(writes, lost).filter(\.1).map(\.0.id))
            guard !lostIDs.isEmpty else {
                lineOutcomes += decided
                return
            }
            for line in decided {
                guard case .concluded(var outcome) = line, lostIDs.contains(outcome.record.id) else {
                    lineOutcomes.append(line)
                    continue
                }
                outcome.result = .leaseLost
                lineOutcomes.append(.concluded(outcome))
            }
        }
        do {
            let ids = batch.queryIds
            // Each query's lease as the batch recorded it: read once, for every group.
            let tokens = batch.tokens
            lineOutcomes.reserveCapacity(ids.count)
            let groups = stride(from: 0, to: ids.count, by: Self.ingestGroup).map {
                Array(ids[$0..<min($0 + Self.ingestGroup, ids.count)])
            }
            // The next group's records are read while this one is decided: reading is the store's, deciding the
            // cores'.
            func read(_ index: Int) -> Task<[QueryRecord], any Error>? {
                guard index < groups.count else { return nil }
                return Task { [self, group = groups[index]] in try await heldRecords(batch, ids: group, tokens: tokens) }
            }
            var reading = read(0)
            defer { reading?.cancel() }
            for index in groups.indices {
                guard let current = reading else { break }
                let held = try await current.value
                reading = read(index + 1)
                // Reading and validating the answers is most of the work: spread over the cores.
                let decided = await held.concurrentMap { [attempt, batches] record -> (BatchLineOutcome, ResultWrite?) in
                    var outcome = QueryOutcome(record: record, result: .leaseLost)
                    let result = refusal.map(ProviderBatchLineResult.failed) ?? results[record.id.rawValue]
                        ?? (ended == .cancelled ? .cancelled : .expired)
                    let latency = Duration.seconds(Date().timeIntervalSince(written))
                    let write: ResultWrite?
                    switch result {
                    case .cancelled:
                        return (.handBack(RunStateMachine.Claim(record)), nil)
                    case .expired:
                        let error = ClassifierError.timeout("the batch ended (\(ended.rawValue)) before this line "
                                                            + "was answered")
                        write = attempt.conclude(&outcome, .failure(error), latency: latency)
                    case .failed(let error):
                        write = attempt.conclude(&outcome, .failure(error), latency: latency)
                    case .succeeded(let body):
                        do {
                            let answer = try batches.classification(from: body, for: record.query)
                            write = attempt.conclude(&outcome, .success(answer), latency: latency)
                        } catch let error as ClassifierError where error.isInvalidOutput {
                            return (.repairOnline(record, spent: error), nil)
                        } catch {
                            write = attempt.conclude(&outcome, .failure(Self.classifierError(error)), latency: latency)
                        }
                    }
                    // What the run counts: the claim, the labels it scores against, the result. A batch's tens of
                    // thousands of outcomes need not hold every query's text (nor its write) until they are counted.
                    outcome.record = outcome.record.counted
                    return (.concluded(outcome), write)
                }
                // The group's results written together, each fenced by its lease.
                var writes: [ResultWrite] = []
                var lines: [BatchLineOutcome] = []
                writes.reserveCapacity(decided.count)
                lines.reserveCapacity(decided.count)
                for (line, write) in decided {
                    lines.append(line)
                    if let write { writes.append(write) }
                }
                try await landed()
                writing = (lines, writes, Task { [self, writes] in try await store.write(writes, giveUp: giveUp) })
            }
            try await landed()
            // The queries identical to its lines, still held: they take the answers just written.
            let waiting = batch.followers.flatMap(\.queryIds)
            if !waiting.isEmpty {
                lineOutcomes += try await heldRecords(batch, ids: waiting, tokens: batch.followerTokens)
                    .map(BatchLineOutcome.prepareAgain)
            }
        } catch {
            // A group still being written counts when its write lands.
            try? await landed()
            return (lineOutcomes, .server("the store failed while the batch was read: \(error)"))
        }
        // The parsed file is tens of megabytes of small allocations: freed off the run's path.
        Task.detached(priority: .background) { withExtendedLifetime(results) {} }
        var finished = batch
        finished.state = .ingested
        finished.updatedAt = Date()
        try? await save(finished)
        return (lineOutcomes, nil)
    }

    /// The queries of a batch (or of some of its ids) still held under the lease the batch recorded for each.
    private func heldRecords(_ batch: ProviderBatch, ids: [QueryID]? = nil,
                             tokens: [QueryID: String]? = nil) async throws -> [QueryRecord] {
        let tokens = tokens ?? batch.tokens
        let ids = ids ?? batch.queryIds
        return try await store.reconnecting("read batch queries", giveUp: giveUp) { [store] in
            try await store.store.find(ids)
        }.filter { record in record.lease.map { tokens[record.id] == $0.token } ?? false }
    }

    private func save(_ batch: ProviderBatch) async throws {
        try await StoreAccess.shielded { [store, giveUp] in
            try await store.reconnecting("save batch", giveUp: giveUp) { try await store.store.saveBatch(batch) }
        }
    }

    private func metadata(_ batch: ProviderBatch) -> [String: String] {
        ["triage_batch": batch.id, "triage_run": runId]
    }

    /// Any error of the batch API as a ``ClassifierError`` (the provider transport's own pass through).
    static func classifierError(_ error: any Error) -> ClassifierError {
        if let error = error as? ClassifierError { return error }
        if error is CancellationError { return .connection("cancelled") }
        return .server("\(error)")
    }
}

/// Cancels a batch at its provider: a run polling it writes what finished and hands the rest back.
public enum ProviderBatchCancel {
    /// - Parameter id: Triage's id for the batch, or the provider's.
    /// - Throws: ``ClassifierError`` `configuration` when the store has no such batch, or the batch belongs to
    ///   another provider or endpoint than `batches`; the provider's error when it refuses.
    public static func cancel(_ id: String, store: any QueryStore, batches: any ProviderBatches) async throws
        -> ProviderBatch {
        guard var batch = try await store.batch(id) else {
            throw ClassifierError.configuration("no batch '\(id)' in the store (triage batches lists them)")
        }
        guard batch.provider == batches.provider, batch.endpoint == batches.endpoint else {
            throw ClassifierError.configuration(
                "batch '\(id)' was sent to \(batch.provider) at \(batch.endpoint); cancel it with that --llm and --llm-url")
        }
        guard let providerBatchId = batch.providerBatchId, !batch.state.providerEnded else { return batch }
        try await batches.cancel(providerBatchId)
        batch.state = .cancelling
        batch.updatedAt = Date()
        try await store.saveBatch(batch)
        return batch
    }
}
