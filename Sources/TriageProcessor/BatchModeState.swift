import Foundation
import TriageCore

/// The decisions batch mode adds to a run (``RunStateMachine`` holds one when the run goes through the provider's
/// batch API): which claimed queries go into which batch, when a batch is submitted, polled and read, and which
/// identical queries wait for another's answer. It performs nothing and reads no clock; what each line's result makes
/// of its query is the same rule as an online attempt's (``QueryAttempt/conclude(_:_:latency:)``).
struct BatchModeState {
    /// A batch the provider has (or may have: one recorded whose submission went unanswered), followed until read.
    struct Open: Hashable {
        var batch: ProviderBatch
        var nextPoll: Date
        /// A poll or a read of it is in flight.
        var busy = false
        /// The provider ended it: read it next.
        var ended: ProviderBatchStatus?
        /// The provider refused it as a whole when it was submitted: every line ends with this error.
        var refusal: ClassifierError?
        /// The reuse keys of its lines: identical queries claimed meanwhile wait for its answers.
        var keys: Set<String>
    }

    let settings: BatchProcessor.Configuration.Batch
    /// The most lines and bytes of one batch: the provider's limits, or lower ones the run was given.
    let maxRequests: Int
    let maxBytes: Int
    let continuous: Bool

    /// The batches a stopped run left were asked for, and have been reported.
    private(set) var resumed = false
    private var resuming = false
    /// A continuous run looks again for batches nobody follows (a worker that died left them) from this time on.
    private var nextResume: Date?
    /// Batches were taken over: their queries' leases are renewed at once, not a third of a lease later.
    private(set) var renewNow = false
    /// A run that is not continuous found batches another run holds: it looks once more when their holds would have
    /// passed had that run died (a run killed and started again at once), then goes on without them.
    private var lookAgainAt: Date?
    private var lookedAgain = false
    /// Claimed, not prepared yet.
    private var toPrepare: [QueryRecord] = []
    /// Waited for a batch line identical to them that is now read: prepared again (its answer is reused), even
    /// while the run stops.
    private var toPrepareAgain: [QueryRecord] = []
    /// Being prepared.
    private var preparing: [RunStateMachine.Claim: QueryRecord] = [:]
    /// Lines for the next batch, in the order they were prepared.
    private var gathering: [BatchLine] = []
    /// The queries of ``gathering``.
    private var gatheredIDs: Set<QueryID> = []
    private var gatheringBytes = 0
    /// When the first line of the next batch was gathered (the window of a continuous run starts there).
    private var gatheringSince: Date?
    /// Queries identical to a line gathered or in a batch, by reuse key: they take its answer. Those of a line
    /// gathered go into its batch's record when it is submitted (a run started again finds them there); those
    /// claimed while the batch is at the provider wait here.
    private var followers: [String: [QueryRecord]] = [:]
    /// The reuse keys of every line gathered, being submitted or in a batch.
    private var keysInUse: Set<String> = []
    /// Lines being submitted.
    private var submitting: [Submission] = []
    private(set) var open: [String: Open] = [:]
    /// Since when the batch API has not answered.
    private var unreachableSince: Date?

    init(settings: BatchProcessor.Configuration.Batch, providerLimits: (requests: Int, bytes: Int), continuous: Bool) {
        self.settings = settings
        maxRequests = max(1, min(settings.maxRequests ?? .max, providerLimits.requests))
        maxBytes = max(1, min(settings.maxBytes ?? .max, providerLimits.bytes))
        self.continuous = continuous
    }

    // MARK: Deciding

    /// Batch mode's next action, if it has one. `drained`: a run that is not continuous has claimed all it will take
    /// for now (the backlog is empty or the limit reached), so what is gathered goes now rather than waiting for more.
    mutating func next(now: Date, stopped: Bool, aborted: Bool, drained: Bool) -> RunStateMachine.Action? {
        guard !aborted else { return nil }
        let due = (nextResume ?? lookAgainAt).map { $0 <= now } == true
        if !resuming, !resumed || (!stopped && due) {
            lookAgainAt = nil
            resuming = true
            return .resumeBatches(following: Set(open.keys))
        }
        if stopped, !(toPrepare.isEmpty && gathering.isEmpty) {
            // Stopping: nothing more is sent; what is not in a batch goes back. The batches are paid for: they are
            // followed to the end.
            return .release(handBackUnsent())
        }
        if !toPrepareAgain.isEmpty || !toPrepare.isEmpty {
            let records = toPrepareAgain + toPrepare
            (toPrepareAgain, toPrepare) = ([], [])
            for record in records { preparing[RunStateMachine.Claim(record)] = record }
            return .prepare(records)
        }
        for (id, batch) in open.sorted(by: { $0.value.batch.createdAt < $1.value.batch.createdAt }) where !batch.busy {
            if batch.ended != nil || batch.refusal != nil {
                open[id]?.busy = true
                return .ingest(batch.batch, batch.ended, refusal: batch.refusal)
            }
            if batch.nextPoll <= now {
                open[id]?.busy = true
                return .poll(batch.batch)
            }
        }
        guard !stopped, !gathering.isEmpty, open.count + submitting.count < settings.maxOpen else { return nil }
        let full = gathering.count >= maxRequests || gatheringBytes >= maxBytes
        let windowEnded = continuous && (gatheringSince.map { now.timeIntervalSince($0) } ?? 0)
            >= settings.window.timeInterval
        let allGathered = !continuous && drained && toPrepare.isEmpty && preparing.isEmpty
        guard full || windowEnded || allGathered else { return nil }
        let lines = takeBatch(now: now)
        let waiting = lines.compactMap(\.reuseKey).flatMap { followers.removeValue(forKey: $0) ?? [] }
        submitting.append(Submission(lines: lines, followers: waiting))
        return .submit(lines, followers: waiting)
    }

    /// Lines on their way to the provider, and the queries that take their answers.
    struct Submission: Hashable {
        var lines: [BatchLine]
        var followers: [QueryRecord]
    }

    /// The lines of the next batch: as many as the provider's limits take, in the order gathered.
    private mutating func takeBatch(now: Date) -> [BatchLine] {
        var count = 0, bytes = 0
        for line in gathering {
            guard count < maxRequests, count == 0 || bytes + line.size <= maxBytes else { break }
            count += 1
            bytes += line.size
        }
        let batch = Array(gathering.prefix(count))
        gathering.removeFirst(count)
        gatheredIDs.subtract(batch.map(\.record.id))
        gatheringBytes -= bytes
        gatheringSince = gathering.isEmpty ? nil : now
        return batch
    }

    /// Claims that room is left for in the next batch.
    var room: Int {
        maxRequests - gathering.count - toPrepare.count - toPrepareAgain.count - preparing.count
    }

    // MARK: Events

    /// A claim brought these queries.
    mutating func claimed(_ records: [QueryRecord]) {
        toPrepare += records
    }

    /// The unfinished batches nobody followed (of this provider and endpoint), now held by this run: followed first.
    mutating func resumed(_ batches: [ProviderBatch], heldElsewhere: Int, now: Date) {
        resuming = false
        resumed = true
        if continuous { nextResume = now.addingTimeInterval(max(settings.holdDuration, .seconds(5)).timeInterval) }
        if !continuous, heldElsewhere > 0, !lookedAgain {
            lookedAgain = true
            lookAgainAt = now.addingTimeInterval(settings.holdDuration.timeInterval + 0.5)
        }
        for batch in batches where open[batch.id] == nil {
            var followed = Open(batch: batch, nextPoll: now, keys: [])
            if batch.state == .failed, batch.providerBatchId == nil {
                // Refused when it was submitted: its lines end with that, each a failed attempt.
                followed.refusal = .server(batch.error ?? "the provider refused the batch")
            }
            open[batch.id] = followed
            renewNow = true
        }
    }

    /// The leases were renewed.
    mutating func renewed() {
        renewNow = false
    }

    /// Reading the store's batches failed: the run goes on without them (they are followed next time).
    mutating func resumeFailed(now: Date) {
        resuming = false
        resumed = true
        if continuous { nextResume = now.addingTimeInterval(max(settings.holdDuration, .seconds(5)).timeInterval) }
    }

    /// Prepared queries: the lines to send (the answered ones were recorded as outcomes).
    mutating func prepared(_ records: [QueryRecord], lines: [BatchLine], now: Date) {
        for record in records { preparing[RunStateMachine.Claim(record)] = nil }
        for line in lines {
            if let key = line.reuseKey {
                guard keysInUse.insert(key).inserted else {
                    // Identical to a line sent or about to be: it takes that line's answer once the batch is read.
                    followers[key, default: []].append(line.record)
                    continue
                }
            }
            if !gatheredIDs.insert(line.record.id).inserted,
               let index = gathering.firstIndex(where: { $0.record.id == line.record.id }) {
                // Claimed again under a newer lease (the older one ran out): the newer claim is the one held.
                gatheringBytes -= gathering[index].size
                gathering.remove(at: index)
            }
            gathering.append(line)
            gatheringBytes += line.size
            gatheringSince = gatheringSince ?? now
        }
    }

    /// A submission ended. - Returns: The lines' claims to hand back when the error stops the run.
    mutating func submitted(_ lines: [BatchLine], batch: ProviderBatch, error: ClassifierError?, now: Date)
        -> [RunStateMachine.Claim] {
        let submission = submitting.first { $0.lines == lines }
        submitting.removeAll { $0.lines == lines }
        let keys = Set(lines.compactMap(\.reuseKey))
        if let error, error.scope == .run {
            keysInUse.subtract(keys)
            return (lines.map(\.record) + (submission?.followers ?? [])).map(RunStateMachine.Claim.init)
                + releaseFollowers(of: keys)
        }
        var followed = Open(batch: batch, nextPoll: now.addingTimeInterval(settings.pollInterval.timeInterval),
                            keys: keys)
        if let error {
            if ProviderBatchPerformer.waitsOut(error) { unreachable(since: now) } else { followed.refusal = error }
        }
        open[batch.id] = followed
        return []
    }

    /// A poll answered. - Returns: Why the run must stop, if it must.
    mutating func polled(_ id: String, _ poll: ProviderBatchPerformer.Poll, now: Date,
                         outageBudget: Duration) -> String? {
        guard var followed = open[id] else { return nil }
        followed.busy = false
        followed.nextPoll = now.addingTimeInterval(settings.pollInterval.timeInterval)
        switch poll {
        case .status(let batch, let status):
            unreachableSince = nil
            followed.batch = batch
            if status.state.providerEnded { followed.ended = status }
        case .failed(let batch, let error):
            // Kept: a batch submitted by this poll has its provider id now, whatever the status call said.
            followed.batch = batch
            open[id] = followed
            return failed(error, now: now, outageBudget: outageBudget)
        case .gone(let batch, let error):
            followed.batch = batch
            followed.refusal = error
        case .heldElsewhere:
            // Another run follows it (this one stalled past its hold): its queries and answers are that run's.
            open[id] = nil
            keysInUse.subtract(followed.keys)
            for key in followed.keys { toPrepareAgain += followers.removeValue(forKey: key) ?? [] }
            return nil
        }
        open[id] = followed
        return nil
    }

    /// Queries the read batch held for its lines' answers (found held under their recorded leases): prepared again,
    /// they take those answers.
    mutating func prepareAgain(_ records: [QueryRecord]) {
        toPrepareAgain += records
    }

    /// A batch was read. - Returns: Why the run must stop, if it must.
    mutating func ingested(_ id: String, failure: ClassifierError?, now: Date, outageBudget: Duration) -> String? {
        guard var followed = open[id] else { return nil }
        if let failure {
            followed.busy = false
            followed.nextPoll = now.addingTimeInterval(settings.pollInterval.timeInterval)
            open[id] = followed
            return failed(failure, now: now, outageBudget: outageBudget)
        }
        unreachableSince = nil
        open[id] = nil
        keysInUse.subtract(followed.keys)
        for key in followed.keys {
            toPrepareAgain += followers.removeValue(forKey: key) ?? []
        }
        return nil
    }

    /// Whether a read batch was cancelled (`triage batches cancel`): a run that is not continuous ends then.
    func wasCancelled(_ batch: ProviderBatch, status: ProviderBatchStatus?) -> Bool {
        status?.state == .cancelled || batch.state == .cancelled
    }

    private mutating func unreachable(since now: Date) {
        unreachableSince = unreachableSince ?? now
    }

    /// A call to the batch API failed: a run-level error stops the run; otherwise the batch is polled again later,
    /// and past the outage budget without an answer the run stops (the batches stay recorded for the next run).
    private mutating func failed(_ error: ClassifierError, now: Date, outageBudget: Duration) -> String? {
        if error.scope == .run { return "the batch API refused the run (\(error.kind)): \(error.message)" }
        unreachable(since: now)
        let down = now.timeIntervalSince(unreachableSince ?? now)
        guard down >= outageBudget.timeInterval else { return nil }
        return "the batch API has not answered for \(Int(down)) s (\(error.message)); its batches stay recorded, "
            + "and the next run follows them"
    }

    /// Everything claimed but not in a batch, handed back: what is gathered or waiting to be prepared, and the
    /// queries waiting for one of those lines.
    private mutating func handBackUnsent() -> [RunStateMachine.Claim] {
        let unsent = toPrepare + gathering.map(\.record)
        let keys = Set(gathering.compactMap(\.reuseKey))
        keysInUse.subtract(keys)
        toPrepare = []
        gathering = []
        gatheredIDs = []
        gatheringBytes = 0
        gatheringSince = nil
        return unsent.map(RunStateMachine.Claim.init) + releaseFollowers(of: keys)
    }

    private mutating func releaseFollowers(of keys: Set<String>) -> [RunStateMachine.Claim] {
        keys.flatMap { followers.removeValue(forKey: $0) ?? [] }.map(RunStateMachine.Claim.init)
    }

    // MARK: Reading

    /// Nothing of batch mode is left to do: everything claimed is sent and read (an aborting run waits only for
    /// what is being performed; the batches it leaves at the provider are followed by the next run).
    func idle(aborted: Bool) -> Bool {
        let performing = resuming || !preparing.isEmpty || !submitting.isEmpty || open.values.contains(where: \.busy)
        if aborted { return !performing }
        return resumed && lookAgainAt == nil && !performing && toPrepare.isEmpty && toPrepareAgain.isEmpty && gathering.isEmpty
            && open.isEmpty && followers.isEmpty
    }

    /// Every claim batch mode holds, for renewal.
    var held: [RunStateMachine.Claim] {
        let records = toPrepare + toPrepareAgain + Array(preparing.values) + gathering.map(\.record)
            + submitting.flatMap { $0.lines.map(\.record) + $0.followers } + followers.values.flatMap { $0 }
        return records.map(RunStateMachine.Claim.init) + open.values.flatMap { followed in
            followed.batch.allClaims.flatMap { group in
                group.queryIds.map { RunStateMachine.Claim(id: $0, token: group.token) }
            }
        }
    }

    /// Claims to hand back when an aborted run ends: everything not in a batch. A batch's queries stay held under
    /// its lease: it is paid for, and the next run follows it.
    mutating func abandoned() -> [RunStateMachine.Claim] {
        let waiting = followers.values.flatMap { $0 } + toPrepareAgain
        followers = [:]
        toPrepareAgain = []
        // A batch the provider refused was never sent: its queries go back too.
        let refused = open.values.filter { $0.refusal != nil }.flatMap { followed in
            followed.batch.allClaims.flatMap { group in
                group.queryIds.map { RunStateMachine.Claim(id: $0, token: group.token) }
            }
        }
        return handBackUnsent() + waiting.map(RunStateMachine.Claim.init) + refused
    }

    /// The batches as a run's progress shows them, oldest first.
    var progress: [BatchProgress] {
        open.values.map(\.batch).sorted { $0.createdAt < $1.createdAt }.map(BatchProgress.init)
    }

    /// Lines gathered for the next batch.
    var gatheredCount: Int { gathering.count }
}

/// One provider batch as a run's progress shows it.
public struct BatchProgress: Sendable, Hashable, Codable {
    /// Triage's id, and the provider's once it confirmed the batch.
    public var id: String
    public var providerBatchId: String?
    /// The run that sent it: another than the one following it when a run started again took it over.
    public var runId: String
    public var state: ProviderBatch.State
    public var total: Int
    public var succeeded: Int
    public var failed: Int

    init(_ batch: ProviderBatch) {
        id = batch.id
        providerBatchId = batch.providerBatchId
        runId = batch.runId
        state = batch.state
        total = batch.counts.total
        succeeded = batch.counts.succeeded
        failed = batch.counts.failed
    }
}
