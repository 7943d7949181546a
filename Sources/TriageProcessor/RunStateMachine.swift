import Foundation
import TriageCore

/// Every decision a run makes, and nothing it performs: which queries to claim, which to start, when a retry is due,
/// when to poll an empty store again, what to hand back, when the run is over. It owns no store, no classifier and
/// no clock: ``BatchProcessor`` reports what happened (a claim's result, a finished query, a stop request, the time)
/// and performs the ``Action`` it gets back. The tests drive it with plain values.
///
/// Online and batch mode differ only in what is performed: online, a claimed query is started as an attempt; in batch
/// mode (``BatchModeState``) it is prepared, gathered into a provider batch, submitted, polled and read. Both end in
/// the same rule for what a result makes of its query, the same statistics, outage pause and stop.
struct RunStateMachine {
    /// What the processor does next.
    enum Action: Hashable {
        /// Claim up to this many queries, then report with ``claimed(_:now:)`` or ``claimFailed(stopping:)``.
        case claim(limit: Int)
        /// Start one attempt of this claimed query; report its end with ``finished(_:)``.
        case start(QueryRecord)
        /// The run is aborting: cancel every attempt in flight. Their outcomes still arrive and are reported.
        case cancelInFlight
        /// Nothing to do until the next event: a query finishing, or a tick.
        case wait
        /// Record this held-back failure now (the provider answered another query, so it counts); report its end
        /// with ``finished(_:now:)``.
        case settle(QueryRecord, ClassifierError)
        /// The provider is down: hand these claims back untouched now, then report ``released(_:)``.
        case release([Claim])
        /// The run is over: hand these claims back untouched, then record the run as ``endState``.
        case finish(release: [Claim])

        // Batch mode (``BatchModeState``):

        /// Find the batches of this provider nobody follows (a run that stopped or died left them), other than
        /// `following`, and hold them; report ``batchesResumed(_:now:)``.
        case resumeBatches(following: Set<String>)
        /// Give these claimed queries an answer without the model, or make each the line it would send; report
        /// ``prepared(_:outcomes:lines:now:)``.
        case prepare([QueryRecord])
        /// Record a batch of these lines (and of the queries identical to them, which take their answers), then
        /// submit it; report ``submitted(_:batch:error:now:)``.
        case submit([BatchLine], followers: [QueryRecord])
        /// Ask the provider how this batch is doing; report ``polled(_:_:now:)``.
        case poll(ProviderBatch)
        /// Read the ended batch (or the one the provider refused): each line concluded and written; report
        /// ``ingested(_:_:now:)``.
        case ingest(ProviderBatch, ProviderBatchStatus?, refusal: ClassifierError?)
    }

    /// A provider outage the run is waiting out.
    struct Outage: Hashable {
        /// When the run first saw it.
        var since: Date
        /// When to send the next probe: one query.
        var probeAt: Date
        /// The wait after a failed probe.
        var delay: Duration
        /// A probe is in flight.
        var probing = false
    }

    /// One claim of one query. A run can hold two claims of the same query — a lease that ran out while its attempt
    /// was still running (or a wall clock that jumped past it) lets the run claim the query again — so attempts are
    /// told apart by their lease token, not by the query id alone.
    struct Claim: Hashable {
        let id: QueryID
        let token: String

        init(_ record: QueryRecord) {
            id = record.id
            token = record.lease?.token ?? ""
        }

        init(id: QueryID, token: String) {
            self.id = id
            self.token = token
        }
    }

    /// The claims of one lease token, renewed or released together.
    struct LeaseGroup: Hashable {
        var token: String
        var ids: [QueryID]

        static func grouping(_ claims: [Claim]) -> [LeaseGroup] {
            Dictionary(grouping: claims, by: \.token).filter { !$0.key.isEmpty }
                .map { LeaseGroup(token: $0.key, ids: $0.value.map(\.id)) }.sorted { $0.token < $1.token }
        }
    }

    /// What to do with a query whose attempt failed.
    enum Disposition: Hashable {
        /// A run-level error: hand the query back untouched and stop the run.
        case stopRun
        /// The query ends `failed` with the error.
        case fail
        /// The query goes back to `pending` until this much time has passed.
        case retry(after: Duration)
    }

    let runId: String
    let configuration: BatchProcessor.Configuration
    /// The queries the run expects to take: the eligible backlog at its start, within the limit.
    let total: Int
    private(set) var statistics: RunStatisticsCollector
    private var claimedNotStarted: ArraySlice<QueryRecord> = []
    /// A claim was asked for and has not been reported yet: the run asks for no other, and does not end, meanwhile.
    private(set) var claiming = false
    private var inFlight: [Claim: QueryRecord] = [:]
    private var toRelease: [Claim] = []
    private var distinctClaimed = Set<QueryID>()
    /// When the retries this run scheduled come due, on the wall clock that claims compare `nextAttemptAt` with
    /// (a monotonic clock drifts from it, and a retry woken a moment early would find nothing to claim).
    private var retryDue: [Date] = []
    private var backlogEmpty = false
    /// In a continuous run, when to look for new work again, and how long to wait after that if there is none.
    private var nextPoll: Date?
    private var idleDelay: Duration
    private var lastRenewal: ContinuousClock.Instant
    /// Claims nothing more; what is in flight finishes.
    private(set) var stopped = false
    /// In-flight attempts were cancelled.
    private(set) var aborted = false
    /// Why the run stopped on its own (a run-level classifier error, a store failure).
    private(set) var runError: String?
    /// Attempts that found the provider unavailable since its last answer, held back unwritten: each counts if the
    /// provider turns out to be up, none does if it is an outage.
    private var suspects: [(record: QueryRecord, error: ClassifierError, at: Date)] = []
    /// When each attempt in flight was started: only an answer to a request sent after a failure says the provider
    /// was up after it.
    private var startedAt: [Claim: Date] = [:]
    /// Held-back failures to record now that the provider answered.
    private var toSettle: [(record: QueryRecord, error: ClassifierError)] = []
    /// The provider outage being waited out, if any.
    private(set) var outage: Outage?
    /// When the provider last answered with a classification.
    private var lastAnswer: Date?
    /// Batch mode's part of the decisions; `nil` online.
    private(set) var batch: BatchModeState?
    /// A batch of the run was cancelled at the provider (`triage batches cancel`).
    private var batchCancelled = false

    /// - Parameters:
    ///   - batchLimits: The provider's limits on one batch, for a run in batch mode.
    ///   - categories: The taxonomy's category names, to count expected labels it cannot match.
    init(runId: String, configuration: BatchProcessor.Configuration, total: Int, startedAt: ContinuousClock.Instant,
         batchLimits: (requests: Int, bytes: Int)? = nil, categories: Set<String> = []) {
        self.runId = runId
        self.configuration = configuration
        self.total = total
        idleDelay = configuration.idlePoll.lowerBound
        lastRenewal = startedAt
        statistics = RunStatisticsCollector(startedAt: Date(), reviewing: configuration.reviewBelow != nil,
                                            reusing: configuration.reuse, categories: categories)
        if configuration.via == .batch, let batchLimits {
            batch = BatchModeState(settings: configuration.batch, providerLimits: batchLimits,
                                   continuous: configuration.continuous)
        }
    }

    /// Claims a run in batch mode asks for at a time.
    static let batchClaimSize = 1_000

    // MARK: Events

    /// The processor asks after every event. `now` is the wall clock the store compares `nextAttemptAt` with.
    mutating func nextAction(now: Date) -> Action {
        if let (record, error) = toSettle.popLast() {
            inFlight[Claim(record)] = record
            return .settle(record, error)
        }
        if outage != nil || batch != nil, !toRelease.isEmpty {
            defer { toRelease = [] }
            return .release(toRelease)
        }
        if batch != nil {
            let (stopped, aborted, drained) = (stopped, aborted, claimsExhausted(now: now))
            if let action = batch?.next(now: now, stopped: stopped, aborted: aborted, drained: drained) {
                return action
            }
        }
        if !stopped, var pause = outage {
            // Paused: one probe at a time, each a single query, until one is answered.
            if pause.probing {
                if inFlight.isEmpty, let record = claimedNotStarted.popFirst() {
                    inFlight[Claim(record)] = record
                    startedAt[Claim(record)] = now
                    return .start(record)
                }
                return .wait
            }
            guard pause.probeAt <= now, inFlight.isEmpty, !claiming else { return .wait }
            if now.timeIntervalSince(pause.since) >= configuration.providerOutageBudget.timeInterval {
                return abort(because: "the LLM provider has not answered for "
                             + "\(Int(now.timeIntervalSince(pause.since))) s; the backlog is left pending")
            }
            pause.probing = true
            outage = pause
            claiming = true
            return .claim(limit: 1)
        }
        if !stopped {
            if backlogEmpty, retryDue.contains(where: { $0 <= now }) {
                retryDue.removeAll { $0 <= now }
                backlogEmpty = false
            }
            if backlogEmpty, configuration.continuous, let poll = nextPoll, poll <= now {
                backlogEmpty = false
            }
            if let batch, batch.resumed, inFlight.count < configuration.maxConcurrent || claimedNotStarted.isEmpty {
                // Batch mode: what is claimed is gathered into batches, not started; only repairs of answers that did
                // not validate are started online, in the slots.
                if inFlight.count < configuration.maxConcurrent, let record = claimedNotStarted.popFirst() {
                    inFlight[Claim(record)] = record
                    startedAt[Claim(record)] = now
                    return .start(record)
                }
                if !backlogEmpty, !claiming {
                    // Claims fill the next batch, a thousand at a time, within the run's limit.
                    let left = configuration.limit.map { $0 - distinctClaimed.count } ?? .max
                    let budget = min(left, batch.room, Self.batchClaimSize)
                    if budget > 0 {
                        claiming = true
                        return .claim(limit: budget)
                    }
                    if left <= 0 { backlogEmpty = true }
                }
            } else if batch == nil, inFlight.count < configuration.maxConcurrent {
                if let record = claimedNotStarted.popFirst() {
                    inFlight[Claim(record)] = record
                    startedAt[Claim(record)] = now
                    return .start(record)
                }
                if !backlogEmpty, !claiming {
                    let budget = claimBudget
                    if budget > 0 {
                        claiming = true
                        return .claim(limit: budget)
                    }
                    backlogEmpty = true
                }
            }
        }
        // Failures held back with nothing left to compare them with: if the provider answered within the last
        // minute they are these queries' own and count; otherwise the run pauses and probes.
        if !stopped, !suspects.isEmpty, inFlight.isEmpty, claimedNotStarted.isEmpty, backlogEmpty, !claiming {
            if let lastAnswer, now.timeIntervalSince(lastAnswer) < configuration.providerRecentlyUp.timeInterval {
                toSettle += suspects.map { ($0.record, $0.error) }
                suspects = []
            } else {
                startOutage(now: now)
            }
            return nextAction(now: now)
        }
        guard inFlight.isEmpty, !hasWorkAhead, !claiming, batch?.idle(aborted: aborted) ?? true else { return .wait }
        let release = claimedNotStarted.map(Claim.init) + toRelease + suspects.map { Claim($0.record) }
            + (batch?.abandoned() ?? [])
        suspects = []
        claimedNotStarted = []
        toRelease = []
        return .finish(release: release)
    }

    /// A run that is not continuous has claimed all it will take for now: the backlog is empty, or the limit reached.
    /// In batch mode the retries it scheduled count as backlog: they go into the next batch together, not one batch
    /// per backoff.
    private func claimsExhausted(now: Date) -> Bool {
        guard !claiming else { return false }
        if claimBudget <= 0 { return true }
        return backlogEmpty && (!configuration.waitForRetries || retryDue.isEmpty)
    }

    /// A claim returned these queries (none: the backlog is empty for now).
    mutating func claimed(_ records: [QueryRecord], now: Date) {
        claiming = false
        if outage?.probing == true {
            // Nothing left to probe with: whatever the provider's state, there is no work for it.
            guard let probe = records.first else {
                outage = nil
                backlogEmpty = true
                return
            }
            statistics.claimed(records.count)
            if configuration.limit != nil { distinctClaimed.insert(probe.id) }
            toRelease += claimedNotStarted.map(Claim.init) + records.dropFirst().map(Claim.init)
            claimedNotStarted = [probe]
            return
        }
        if outage != nil {
            // A claim asked for before the provider went down: nothing can be started now, so it goes back.
            statistics.claimed(records.count)
            toRelease += records.map(Claim.init)
            return
        }
        guard !records.isEmpty else {
            backlogEmpty = true
            if configuration.continuous {
                nextPoll = now.addingTimeInterval(idleDelay.timeInterval)
                idleDelay = min(idleDelay * 2, configuration.idlePoll.upperBound)
            }
            return
        }
        idleDelay = configuration.idlePoll.lowerBound
        statistics.claimed(records.count)
        // Only a limited run needs to remember every id it took; a long-running one must stay flat.
        if configuration.limit != nil {
            distinctClaimed.formUnion(records.map(\.id))
        }
        if batch != nil {
            batch?.claimed(records)
        } else {
            claimedNotStarted = ArraySlice(records)
        }
    }

    /// A claim failed: the store stayed unreachable past its budget, or refused. While stopping, that only means there
    /// is nothing more to claim; otherwise the run aborts.
    mutating func claimFailed(_ error: any Error, stopping: Bool) -> Action {
        claiming = false
        if stopping {
            backlogEmpty = true
            return .wait
        }
        return abort(because: "the store failed: \(error)")
    }

    /// One attempt ended (or, `inFlight` false, a query answered without one: reused, or a batch line).
    mutating func finished(_ outcome: QueryOutcome, now: Date = Date(), inFlight wasInFlight: Bool = true) -> Action {
        if wasInFlight { inFlight[Claim(outcome.record)] = nil }
        let started = wasInFlight ? startedAt.removeValue(forKey: Claim(outcome.record)) : nil
        statistics.record(outcome)
        if outcome.needsRelease {
            toRelease.append(Claim(outcome.record))
        }
        // Only the model's own answer says the provider is up: a reused answer, or the examples', asked nothing of it.
        let answeredByModel = if case .classified(let answer) = outcome.result {
            answer.reusedFrom == nil && answer.answeredBy != .examples
        } else { false }
        if answeredByModel { lastAnswer = now }
        switch outcome.result {
        case .unavailable(let error):
            return providerUnavailable(outcome.record, error, now: now)
        case .classified where answeredByModel && (outage != nil || !suspects.isEmpty):
            // The provider answered a request sent after these: an outage is over (what it handed back is pending
            // again), and what failed before the request was sent counts after all.
            let sent = started ?? .distantPast
            if let pause = outage, sent >= pause.since {
                outage = nil
                backlogEmpty = false
            }
            toSettle += suspects.filter { $0.at <= sent }.map { ($0.record, $0.error) }
            suspects.removeAll { $0.at <= sent }
        default:
            break
        }
        if wasInFlight, var pause = outage, pause.probing, inFlight.isEmpty {
            // The probe ended some other way than "unavailable". The provider answered (a failure of the query's
            // own, a 429) if it said anything at all: the outage is over. A probe that asked it nothing (reused,
            // its lease lost) is tried again at once with another query.
            let answered = switch outcome.result {
            case .retryScheduled, .failed: true
            default: false
            }
            if answered {
                outage = nil
                backlogEmpty = false
            } else if outage != nil {
                pause.probing = false
                pause.probeAt = now
                outage = pause
            }
        }
        switch outcome.result {
        case .retryScheduled(_, let at):
            retryDue.append(at)
        case .runStopped(let error):
            return abort(because: "the classifier cannot work (\(error.kind)): \(error.message)")
        case .storeFailed(let error):
            return abort(because: "the store failed: \(error)")
        case .classified, .failed, .interrupted, .leaseLost, .unavailable:
            break
        }
        return .wait
    }

    /// An attempt found the provider unavailable. During an outage the query goes back unspent and the next probe
    /// waits longer; otherwise the failure is held back, and enough of them in a row (or one with nothing else in
    /// flight to compare with) start an outage: everything held goes back unspent and the run probes.
    private mutating func providerUnavailable(_ record: QueryRecord, _ error: ClassifierError, now: Date) -> Action {
        if var pause = outage {
            toRelease.append(Claim(record))
            if pause.probing {
                pause.probing = false
                pause.probeAt = now.addingTimeInterval(pause.delay.timeInterval)
                pause.delay = min(pause.delay * 2, configuration.outageProbe.upperBound)
                outage = pause
            }
            return .wait
        }
        suspects.append((record, error, now))
        if suspects.count >= configuration.outageThreshold { startOutage(now: now) }
        return .wait
    }

    /// Pauses for a provider outage: everything held goes back unspent, and the first probe is scheduled.
    private mutating func startOutage(now: Date) {
        outage = Outage(since: now, probeAt: now.addingTimeInterval(configuration.outageProbe.lowerBound.timeInterval),
                        delay: min(configuration.outageProbe.lowerBound * 2, configuration.outageProbe.upperBound))
        toRelease += suspects.map { Claim($0.record) } + claimedNotStarted.map(Claim.init)
        suspects = []
        claimedNotStarted = []
    }

    /// Someone asked the run to stop gently: it claims nothing more, lets what is in flight finish, and hands back
    /// what it claimed but did not start.
    mutating func stop() {
        stopped = true
    }

    /// Someone asked the run to stop at once, or its task was cancelled.
    mutating func abort() -> Action {
        abort(because: nil)
    }

    private mutating func abort(because reason: String?) -> Action {
        if runError == nil { runError = reason }
        stopped = true
        guard !aborted else { return .wait }
        aborted = true
        return .cancelInFlight
    }

    /// The claims to renew, once a third of the lease has passed since the last renewal.
    mutating func leasesToRenew(at now: ContinuousClock.Instant) -> [LeaseGroup] {
        guard now - lastRenewal >= configuration.leaseDuration / 3 || batch?.renewNow == true else { return [] }
        lastRenewal = now
        batch?.renewed()
        return LeaseGroup.grouping(Array(inFlight.keys) + claimedNotStarted.map(Claim.init)
                                   + suspects.map { Claim($0.record) } + (batch?.held ?? []))
    }

    /// Claims handed back at the end.
    mutating func released(_ count: Int) {
        statistics.released(count)
    }

    /// The model was measured on the example pool at the start: the run pays for it.
    mutating func calibrated(_ measurement: ExamplesDecision.ModelMeasurement) {
        statistics.spent(measurement)
    }

    // MARK: Batch mode

    /// The unfinished batches a stopped run left were found (or could not be read: the run goes on without them).
    mutating func batchesResumed(_ result: Result<(adopted: [ProviderBatch], heldElsewhere: Int), any Error>,
                                 now: Date) -> Action {
        switch result {
        case .success(let found): batch?.resumed(found.adopted, heldElsewhere: found.heldElsewhere, now: now)
        case .failure(let error):
            batch?.resumeFailed(now: now)
            return abort(because: "the store failed: \(error)")
        }
        return .wait
    }

    /// Claimed queries were prepared: `outcomes` were answered without the model and written, `lines` are to send.
    mutating func prepared(_ records: [QueryRecord], outcomes: [QueryOutcome], lines: [BatchLine], now: Date) -> Action {
        batch?.prepared(records, lines: lines, now: now)
        var action = Action.wait
        for outcome in outcomes where finished(outcome, now: now, inFlight: false) == .cancelInFlight {
            action = .cancelInFlight
        }
        return action
    }

    /// A batch was recorded and submitted (`error` nil), or its submission failed.
    mutating func submitted(_ lines: [BatchLine], batch submitted: ProviderBatch, error: ClassifierError?,
                            now: Date) -> Action {
        let handBack = batch?.submitted(lines, batch: submitted, error: error, now: now) ?? []
        guard !handBack.isEmpty, let error else { return .wait }
        toRelease += handBack
        return abort(because: "the batch API refused the run (\(error.kind)): \(error.message)")
    }

    /// A poll of a batch answered.
    mutating func polled(_ id: String, _ poll: ProviderBatchPerformer.Poll, now: Date) -> Action {
        let budget = configuration.providerOutageBudget
        guard let reason = batch?.polled(id, poll, now: now, outageBudget: budget) else { return .wait }
        return abort(because: reason)
    }

    /// A batch was read: each line's outcome is counted; repairs are started online; cancelled lines go back.
    /// A failure stopped the read before its end: what was written is counted, and the rest is read again later.
    mutating func ingested(_ read: ProviderBatch, _ lines: [BatchLineOutcome], failure: ClassifierError?,
                           now: Date) -> Action {
        var action = Action.wait
        for line in lines {
            switch line {
            case .concluded(let outcome):
                if finished(outcome, now: now, inFlight: false) == .cancelInFlight { action = .cancelInFlight }
            case .repairOnline(let record, let spent):
                statistics.spent(spent)
                claimedNotStarted.append(record)
            case .handBack(let claim):
                toRelease.append(claim)
            case .prepareAgain(let record):
                batch?.prepareAgain([record])
            }
        }
        let budget = configuration.providerOutageBudget
        if let reason = batch?.ingested(read.id, failure: failure, now: now, outageBudget: budget) {
            return abort(because: reason)
        }
        if failure == nil, read.state == .cancelled, !configuration.continuous {
            // Someone cancelled the batch at the provider: the run ends, cancelled, once the rest is done.
            batchCancelled = true
            stop()
        }
        return action
    }

    // MARK: Reading

    /// Whether the run is waiting out a provider outage.
    var paused: Bool { outage != nil }

    /// How the run ends: `failed` on its own error, `cancelled` if stopped, else `completed`.
    var endState: RunState {
        runError != nil ? .failed : (stopped || batchCancelled ? .cancelled : .completed)
    }

    var inFlightCount: Int { inFlight.count }

    func progress(state: RunState, now: Date = Date()) -> RunProgress {
        let s = statistics.statistics
        var progress = RunProgress(
            runId: runId, state: state, total: total, classified: s.classified, failed: s.failed,
            retried: s.retried, inFlight: inFlight.count, elapsedSeconds: statistics.elapsedSeconds
        )
        if let batch {
            progress.batches = batch.progress
            progress.gathering = batch.gatheredCount
        }
        if let outage, state == .running {
            progress.paused = "the LLM provider is not answering (for \(Int(now.timeIntervalSince(outage.since))) s); "
                + "probing with one query, nothing is spent meanwhile"
        }
        return progress
    }

    private var claimBudget: Int {
        guard let limit = configuration.limit else { return configuration.batchSize }
        return min(configuration.batchSize, limit - distinctClaimed.count)
    }

    /// Whether to keep waiting although nothing is in flight: a continuous run waits until stopped; another waits for
    /// the retries it scheduled, unless the limit is reached (retries are then left to a later run).
    private var hasWorkAhead: Bool {
        if stopped { return false }
        if outage != nil || !suspects.isEmpty || !toSettle.isEmpty { return true }
        if configuration.continuous { return true }
        return configuration.waitForRetries && !retryDue.isEmpty && claimBudget > 0
    }

    // MARK: Failed attempts

    /// What to do with a query whose attempt number `attempt` failed with `error`: a run-level error stops the run, a
    /// query-level one fails the query, and a transient one is retried after a jittered backoff until `maxAttempts`.
    static func disposition(
        of error: ClassifierError, attempt: Int, configuration: BatchProcessor.Configuration,
        using generator: inout some RandomNumberGenerator
    ) -> Disposition {
        switch error.scope {
        case .run: .stopRun
        case .query: .fail
        case .attempt where attempt >= configuration.maxAttempts: .fail
        case .attempt: .retry(after: configuration.retryPolicy.delay(forRetry: attempt, using: &generator))
        }
    }
}
