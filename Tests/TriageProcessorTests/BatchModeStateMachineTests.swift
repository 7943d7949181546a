import Foundation
import Testing
import TriageCore
@testable import TriageProcessor

/// Batch mode's decisions, driven with plain values: which claimed queries go into which batch, when a batch is
/// submitted, polled and read, what stopping does, and which queries wait for another's answer.
@Suite("RunStateMachine: batch mode")
struct BatchModeStateMachineTests {
    typealias Action = RunStateMachine.Action
    typealias Claim = RunStateMachine.Claim

    static let start = Date(timeIntervalSinceReferenceDate: 800_000_000)

    func machine(continuous: Bool = false, maxRequests: Int = 100,
                 _ configure: (inout BatchProcessor.Configuration) -> Void = { _ in }) -> RunStateMachine {
        var configuration = BatchProcessor.Configuration()
        configuration.via = .batch
        configuration.continuous = continuous
        configuration.maxConcurrent = 2
        configuration.batch.pollInterval = .seconds(30)
        configuration.batch.window = .seconds(60)
        configure(&configuration)
        var machine = RunStateMachine(runId: "r", configuration: configuration, total: 10, startedAt: .now,
                                      batchLimits: (maxRequests, 1_000_000))
        #expect(machine.nextAction(now: Self.start) == .resumeBatches(following: []))
        _ = machine.batchesResumed(.success(([], 0)), now: Self.start)
        return machine
    }

    func records(_ ids: ClosedRange<Int>, token: String = "t1", attempts: Int = 1) -> [QueryRecord] {
        ids.map { n in
            QueryRecord(id: QueryID("q\(n)"), query: SupportQuery(text: "query \(n)", createdAt: Self.start),
                        status: .processing, attempts: attempts, nextAttemptAt: Self.start,
                        lease: Lease(owner: "w", token: token, expiresAt: Self.start.addingTimeInterval(3600)),
                        updatedAt: Self.start)
        }
    }

    func lines(_ records: [QueryRecord], key: (QueryRecord) -> String? = { "k-\($0.id)" }) -> [BatchLine] {
        records.map { BatchLine(record: $0, body: Data("{}".utf8), reuseKey: key($0)) }
    }

    func batch(for lines: [BatchLine], followers: [QueryRecord] = [], id: String = "tb-1") -> ProviderBatch {
        var batch = ProviderBatch(id: id, provider: "openai", endpoint: "e", model: "m", runId: "r",
                                  claims: [.init(token: "t1", queryIds: lines.map(\.record.id))], createdAt: Self.start)
        batch.followers = followers.isEmpty ? [] : [.init(token: "t1", queryIds: followers.map(\.id))]
        batch.providerBatchId = "batch_1"
        batch.state = .validating
        return batch
    }

    func classified(_ record: QueryRecord) -> QueryOutcome {
        QueryOutcome(record: record, result: .classified(Classification(
            category: "billing", priority: "low", sentiment: "neutral", language: "en", confidence: 0.9,
            summary: "s", model: "m", taxonomyVersion: "v")))
    }

    func status(_ state: ProviderBatch.State, total: Int) -> ProviderBatchStatus {
        ProviderBatchStatus(state: state, counts: .init(total: total, succeeded: total, failed: 0))
    }

    @Test("claimed queries are prepared, not started; once the backlog is drained they go in one batch")
    func gathersThenSubmits() {
        var m = machine()
        let claimed = records(1...3)
        #expect(m.nextAction(now: Self.start) == .claim(limit: 100), "a claim for the batch's room")
        m.claimed(claimed, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .prepare(claimed))
        #expect(m.nextAction(now: Self.start) == .claim(limit: 97))
        m.claimed([], now: Self.start)
        #expect(m.nextAction(now: Self.start) == .wait, "nothing is sent while queries are being prepared")
        #expect(m.prepared(claimed, outcomes: [], lines: lines(claimed), now: Self.start) == .wait)
        #expect(m.nextAction(now: Self.start) == .submit(lines(claimed), followers: []))
        #expect(m.inFlightCount == 0, "batch lines are not attempts in the slots")
    }

    @Test("a batch is sent when it reaches the provider's line limit, and claiming goes on for the next")
    func splitsAtTheLimit() {
        var m = machine(maxRequests: 2)
        let claimed = records(1...2)
        #expect(m.nextAction(now: Self.start) == .claim(limit: 2), "no more than one batch's room")
        m.claimed(claimed, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .prepare(claimed))
        _ = m.prepared(claimed, outcomes: [], lines: lines(claimed), now: Self.start)
        #expect(m.nextAction(now: Self.start) == .submit(lines(claimed), followers: []))
        #expect(m.nextAction(now: Self.start) == .claim(limit: 2))
    }

    @Test("a continuous run gathers for its window, then sends what it has")
    func continuousWindow() {
        var m = machine(continuous: true)
        let claimed = records(1...2)
        _ = m.nextAction(now: Self.start)
        m.claimed(claimed, now: Self.start)
        _ = m.nextAction(now: Self.start)
        _ = m.prepared(claimed, outcomes: [], lines: lines(claimed), now: Self.start)
        let soon = Self.start.addingTimeInterval(30)
        #expect(m.nextAction(now: soon) == .claim(limit: 98), "room for the rest of the batch")
        m.claimed([], now: soon)
        #expect(m.nextAction(now: soon) == .wait, "the window is still open")
        #expect(m.nextAction(now: Self.start.addingTimeInterval(60)) == .submit(lines(claimed), followers: []))
    }

    @Test("a submitted batch is polled every interval, read when it ends, and its answers counted")
    func pollsAndReads() {
        var m = machine()
        let claimed = records(1...2)
        let sent = lines(claimed)
        _ = m.nextAction(now: Self.start)
        m.claimed(claimed, now: Self.start)
        _ = m.nextAction(now: Self.start)
        _ = m.nextAction(now: Self.start)
        m.claimed([], now: Self.start)
        _ = m.prepared(claimed, outcomes: [], lines: sent, now: Self.start)
        _ = m.nextAction(now: Self.start)
        var submitted = batch(for: sent)
        #expect(m.submitted(sent, batch: submitted, error: nil, now: Self.start) == .wait)
        #expect(m.nextAction(now: Self.start.addingTimeInterval(10)) == .wait, "polled no sooner than the interval")
        let first = Self.start.addingTimeInterval(30)
        #expect(m.nextAction(now: first) == .poll(submitted))
        submitted.state = .inProgress
        #expect(m.polled(submitted.id, .status(submitted, status(.inProgress, total: 2)), now: first) == .wait)
        #expect(m.nextAction(now: first.addingTimeInterval(29)) == .wait)
        let second = first.addingTimeInterval(30)
        #expect(m.nextAction(now: second) == .poll(submitted))
        submitted.state = .completed
        let ended = status(.completed, total: 2)
        _ = m.polled(submitted.id, .status(submitted, ended), now: second)
        #expect(m.nextAction(now: second) == .ingest(submitted, ended, refusal: nil))
        #expect(m.ingested(submitted, claimed.map { .concluded(classified($0)) }, failure: nil, now: second) == .wait)
        #expect(m.nextAction(now: second) == .finish(release: []))
        #expect(m.statistics.statistics.classified == 2)
        #expect(m.endState == .completed)
    }

    @Test("an identical query waits for one line's answer, recorded with its batch, and takes it once read")
    func followersTakeTheAnswer() {
        var m = machine()
        let claimed = records(1...3)
        let same: (QueryRecord) -> String? = { _ in "same text" }
        _ = m.nextAction(now: Self.start)
        m.claimed(claimed, now: Self.start)
        _ = m.nextAction(now: Self.start)
        _ = m.nextAction(now: Self.start)
        m.claimed([], now: Self.start)
        _ = m.prepared(claimed, outcomes: [], lines: lines(claimed, key: same), now: Self.start)
        let sent = lines([claimed[0]], key: same)
        #expect(m.nextAction(now: Self.start) == .submit(sent, followers: [claimed[1], claimed[2]]),
                "one line for three identical queries")
        let submitted = batch(for: sent, followers: [claimed[1], claimed[2]])
        _ = m.submitted(sent, batch: submitted, error: nil, now: Self.start)
        let renewed = Set(m.leasesToRenew(at: .now + .seconds(3600)).flatMap(\.ids))
        #expect(renewed == Set(claimed.map(\.id)), "the followers stay held while the batch runs")
        _ = m.ingested(submitted, [.concluded(classified(claimed[0])), .prepareAgain(claimed[1]),
                                   .prepareAgain(claimed[2])], failure: nil, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .prepare([claimed[1], claimed[2]]),
                "prepared again, they find the answer to reuse")
    }

    @Test("each line's failure follows its error's scope: rejected fails, transient retries, run-level stops")
    func lineFailuresAreScopeAware() {
        var configuration = BatchProcessor.Configuration()
        configuration.maxAttempts = 3
        var random = SystemRandomNumberGenerator()
        #expect(RunStateMachine.disposition(of: .rejected("HTTP 400"), attempt: 1, configuration: configuration,
                                            using: &random) == .fail)
        if case .retry = RunStateMachine.disposition(of: .server("HTTP 500"), attempt: 1,
                                                     configuration: configuration, using: &random) {} else {
            Issue.record("a transient line error is retried")
        }
        #expect(RunStateMachine.disposition(of: .unauthorized("401"), attempt: 1, configuration: configuration,
                                            using: &random) == .stopRun)
    }

    /// A machine with one full batch of q1…q2 submitted, and `more` claimed and prepared for the next.
    func oneSubmitted(gathering more: [QueryRecord]) -> (RunStateMachine, ProviderBatch) {
        var m = machine(maxRequests: 2)
        let first = records(1...2)
        #expect(m.nextAction(now: Self.start) == .claim(limit: 2))
        m.claimed(first, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .prepare(first))
        _ = m.prepared(first, outcomes: [], lines: lines(first), now: Self.start)
        #expect(m.nextAction(now: Self.start) == .submit(lines(first), followers: []), "a full batch goes at once")
        let sent = batch(for: lines(first))
        _ = m.submitted(lines(first), batch: sent, error: nil, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .claim(limit: 2), "claiming goes on for the next batch")
        m.claimed(more, now: Self.start)
        #expect(m.nextAction(now: Self.start) == .prepare(more))
        _ = m.prepared(more, outcomes: [], lines: lines(more), now: Self.start)
        return (m, sent)
    }

    @Test("a gentle stop sends nothing more: what is gathered goes back, the sent batch is followed to the end")
    func stopKeepsFollowing() {
        let gathered = records(3...4)
        var (m, sent) = oneSubmitted(gathering: gathered)
        m.stop()
        #expect(m.nextAction(now: Self.start) == .release(gathered.map(Claim.init)))
        m.released(2)
        #expect(m.nextAction(now: Self.start) == .wait, "the sent batch is still followed")
        #expect(m.nextAction(now: Self.start.addingTimeInterval(30)) == .poll(sent))
    }

    @Test("an abort leaves the sent batch held under its lease for the next run, and hands the rest back")
    func abortLeavesTheBatch() {
        let gathered = records(3...3)
        var (m, _) = oneSubmitted(gathering: gathered)
        #expect(m.abort() == .cancelInFlight)
        #expect(m.nextAction(now: Self.start) == .finish(release: gathered.map(Claim.init)),
                "the batch's queries are paid for: not handed back")
        #expect(m.endState == .cancelled)
    }

    @Test("a batch API that stays unreachable past the outage budget stops the run; one answer resets the wait")
    func unreachableBatchAPI() {
        var m = machine { $0.providerOutageBudget = .seconds(120) }
        let sent = lines(records(1...1))
        _ = m.nextAction(now: Self.start)
        m.claimed(records(1...1), now: Self.start)
        _ = m.nextAction(now: Self.start)
        _ = m.nextAction(now: Self.start)
        m.claimed([], now: Self.start)
        _ = m.prepared(records(1...1), outcomes: [], lines: sent, now: Self.start)
        _ = m.nextAction(now: Self.start)
        let submitted = batch(for: sent)
        _ = m.submitted(sent, batch: submitted, error: nil, now: Self.start)
        var now = Self.start
        for _ in 0..<3 {
            now = now.addingTimeInterval(30)
            #expect(m.nextAction(now: now) == .poll(submitted))
            #expect(m.polled(submitted.id, .failed(submitted, .connection("refused")), now: now) == .wait)
        }
        now = now.addingTimeInterval(30)
        _ = m.nextAction(now: now)
        _ = m.polled(submitted.id, .status(submitted, status(.inProgress, total: 1)), now: now)
        for _ in 0..<4 {
            now = now.addingTimeInterval(30)
            _ = m.nextAction(now: now)
            _ = m.polled(submitted.id, .failed(submitted, .connection("refused")), now: now)
        }
        #expect(m.runError == nil, "90 s without an answer since the last: within the budget")
        now = now.addingTimeInterval(30)
        _ = m.nextAction(now: now)
        #expect(m.polled(submitted.id, .failed(submitted, .connection("refused")), now: now) == .cancelInFlight)
        #expect(m.runError?.contains("batches stay recorded") == true)
    }

    @Test("a submission the provider refuses for the run hands every claim back and stops")
    func refusedSubmission() {
        var m = machine()
        let claimed = records(1...2)
        _ = m.nextAction(now: Self.start)
        m.claimed(claimed, now: Self.start)
        _ = m.nextAction(now: Self.start)
        _ = m.nextAction(now: Self.start)
        m.claimed([], now: Self.start)
        _ = m.prepared(claimed, outcomes: [], lines: lines(claimed), now: Self.start)
        _ = m.nextAction(now: Self.start)
        #expect(m.submitted(lines(claimed), batch: batch(for: lines(claimed)), error: .unauthorized("401"),
                            now: Self.start) == .cancelInFlight)
        #expect(m.nextAction(now: Self.start) == .release(claimed.map(Claim.init)))
        m.released(2)
        #expect(m.nextAction(now: Self.start) == .finish(release: []))
        #expect(m.endState == .failed)
    }

    @Test("batches a stopped run left are polled first")
    func resumesLeftBatches() {
        var configuration = BatchProcessor.Configuration()
        configuration.via = .batch
        var m = RunStateMachine(runId: "r2", configuration: configuration, total: 0, startedAt: .now,
                                batchLimits: (100, 1_000_000))
        #expect(m.nextAction(now: Self.start) == .resumeBatches(following: []))
        #expect(m.nextAction(now: Self.start) == .wait, "nothing is claimed before the left batches are known")
        var left = batch(for: lines(records(1...2)))
        left.runId = "r1"
        left.state = .inProgress
        _ = m.batchesResumed(.success(([left], 0)), now: Self.start)
        #expect(m.nextAction(now: Self.start) == .poll(left))
        #expect(Set(m.leasesToRenew(at: .now).flatMap(\.ids)) == [QueryID("q1"), QueryID("q2")],
                "its queries' leases are renewed at once")
    }

    @Test("a run that finds a batch another run holds looks once more when a dead run's hold would have passed")
    func looksAgainOnce() {
        var configuration = BatchProcessor.Configuration()
        configuration.via = .batch
        configuration.batch.pollInterval = .seconds(1)
        var m = RunStateMachine(runId: "r2", configuration: configuration, total: 0, startedAt: .now,
                                batchLimits: (100, 1_000_000))
        #expect(m.nextAction(now: Self.start) == .resumeBatches(following: []))
        _ = m.batchesResumed(.success(([], 1)), now: Self.start)
        #expect(m.nextAction(now: Self.start) == .claim(limit: 100))
        m.claimed([], now: Self.start)
        #expect(m.nextAction(now: Self.start.addingTimeInterval(1)) == .wait, "not finished: it looks again first")
        #expect(m.nextAction(now: Self.start.addingTimeInterval(3.6)) == .resumeBatches(following: []))
        _ = m.batchesResumed(.success(([], 1)), now: Self.start.addingTimeInterval(3.6))
        #expect(m.nextAction(now: Self.start.addingTimeInterval(4)) == .finish(release: []),
                "held still: a live run follows it, and this one ends")
    }
}

/// A provider outage's probe that the provider never sees (answered by reuse) must not leave the run waiting.
@Suite("RunStateMachine: probes")
struct ProbeTests {
    @Test("a probe answered without the provider (a reused answer) is followed by another probe at once")
    func reusedProbe() {
        var configuration = BatchProcessor.Configuration()
        configuration.outageThreshold = 1
        configuration.providerRecentlyUp = .zero
        var machine = RunStateMachine(runId: "r", configuration: configuration, total: 3, startedAt: .now)
        let start = Date(timeIntervalSinceReferenceDate: 800_000_000)
        let records = (1...3).map { n in
            QueryRecord(id: QueryID("q\(n)"), query: SupportQuery(text: "q \(n)", createdAt: start), status: .processing,
                        attempts: 1, nextAttemptAt: start, lease: Lease(owner: "w", token: "t\(n)", expiresAt: start),
                        updatedAt: start)
        }
        #expect(machine.nextAction(now: start) == .claim(limit: 50))
        machine.claimed([records[0]], now: start)
        #expect(machine.nextAction(now: start) == .start(records[0]))
        _ = machine.finished(QueryOutcome(record: records[0], result: .unavailable(.connection("refused"))), now: start)
        #expect(machine.paused)
        // Hand back what it held, then probe after the first wait.
        if case .release(let claims) = machine.nextAction(now: start) { machine.released(claims.count) }
        let later = start.addingTimeInterval(2)
        #expect(machine.nextAction(now: later) == .claim(limit: 1))
        machine.claimed([records[1]], now: later)
        #expect(machine.nextAction(now: later) == .start(records[1]))
        var reused = Classification(category: "billing", priority: "low", sentiment: "neutral", language: "en",
                                    confidence: 0.9, summary: "s", model: "m", taxonomyVersion: "v")
        reused.reusedFrom = QueryID("q0")
        _ = machine.finished(QueryOutcome(record: records[1], result: .classified(reused)), now: later)
        #expect(machine.paused, "a reused answer says nothing about the provider")
        #expect(machine.nextAction(now: later) == .claim(limit: 1), "another probe at once, not a wait forever")
    }
}
