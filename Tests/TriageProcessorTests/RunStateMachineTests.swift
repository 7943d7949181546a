import Foundation
import Testing
import TriageCore
@testable import TriageProcessor

/// The run's decisions, driven with plain values: no store, no classifier, no clock.
@Suite("RunStateMachine")
struct RunStateMachineTests {
    typealias Action = RunStateMachine.Action
    typealias Claim = RunStateMachine.Claim

    static let start = Date(timeIntervalSinceReferenceDate: 800_000_000)
    static let instant = ContinuousClock.now

    func machine(_ configure: (inout BatchProcessor.Configuration) -> Void = { _ in }) -> RunStateMachine {
        var configuration = BatchProcessor.Configuration()
        configuration.batchSize = 3
        configuration.maxConcurrent = 2
        configure(&configuration)
        return RunStateMachine(runId: "r", configuration: configuration, total: 10, startedAt: Self.instant)
    }

    func records(_ ids: ClosedRange<Int>, token: String = "t1") -> [QueryRecord] {
        ids.map { n in
            QueryRecord(id: QueryID("q\(n)"), query: SupportQuery(text: "query \(n)", createdAt: Self.start), status: .processing, attempts: 1,
                        nextAttemptAt: Self.start, lease: Lease(owner: "w", token: token, expiresAt: Self.start),
                        updatedAt: Self.start)
        }
    }

    func outcome(_ record: QueryRecord, _ result: QueryOutcome.Result) -> QueryOutcome {
        QueryOutcome(record: record, result: result)
    }

    var classified: QueryOutcome.Result {
        .classified(Classification(category: "billing", priority: "low", sentiment: "neutral", language: "en",
                                   confidence: 0.9, summary: "s", model: "m", taxonomyVersion: "v"))
    }

    /// Takes every action up to the next `.wait` (or the end), claiming from `backlog` when asked.
    func drain(_ machine: inout RunStateMachine, backlog: inout [QueryRecord], now: Date = start) -> [Action] {
        var actions: [Action] = []
        while true {
            let action = machine.nextAction(now: now)
            actions.append(action)
            switch action {
            case .claim(let limit):
                let taken = Array(backlog.prefix(limit))
                backlog.removeFirst(taken.count)
                machine.claimed(taken, now: now)
            case .start, .settle:
                continue
            case .release(let claims):
                machine.released(claims.count)
            case .wait, .finish, .cancelInFlight:
                return actions
            case .resumeBatches, .prepare, .submit, .poll, .ingest:
                Issue.record("an online run asked for batch mode's \(action)")
                return actions
            }
        }
    }

    @Test("an empty machine claims a batch, starts as many as it has slots, then waits")
    func claimsWhenEmpty() {
        var m = machine()
        var backlog = records(1...5)
        let actions = drain(&m, backlog: &backlog)
        #expect(actions == [.claim(limit: 3), .start(records(1...1)[0]), .start(records(2...2)[0]), .wait])
        #expect(m.inFlightCount == 2)
        #expect(m.statistics.statistics.claimed == 3)
    }

    @Test("a free slot is refilled from what was claimed, and a claim comes only when nothing claimed is left")
    func refillsFreeSlot() {
        var m = machine()
        var backlog = records(1...5)
        let all = records(1...5)
        _ = drain(&m, backlog: &backlog)
        #expect(m.finished(outcome(all[0], classified)) == .wait)
        #expect(drain(&m, backlog: &backlog) == [.start(all[2]), .wait])
        #expect(m.finished(outcome(all[1], classified)) == .wait)
        #expect(drain(&m, backlog: &backlog) == [.claim(limit: 3), .start(all[3]), .wait])
        #expect(m.finished(outcome(all[2], classified)) == .wait)
        #expect(drain(&m, backlog: &backlog) == [.start(all[4]), .wait])
        _ = m.finished(outcome(all[3], classified))
        #expect(drain(&m, backlog: &backlog) == [.claim(limit: 3), .wait], "an empty claim: the backlog is done")
        _ = m.finished(outcome(all[4], classified))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [])])
        #expect(m.endState == .completed)
        #expect(m.statistics.statistics.classified == 5)
    }

    @Test("a limited run claims no more distinct queries than its limit")
    func limitCapsClaims() {
        var m = machine { $0.limit = 4; $0.maxConcurrent = 3 }
        var backlog = records(1...9)
        #expect(drain(&m, backlog: &backlog).first == .claim(limit: 3))
        let all = records(1...9)
        for record in all[0..<3] { _ = m.finished(outcome(record, classified)) }
        #expect(drain(&m, backlog: &backlog) == [.claim(limit: 1), .start(all[3]), .wait])
        _ = m.finished(outcome(all[3], classified))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [])], "the limit is reached: no more claims")
    }

    @Test("a retry the run scheduled keeps it waiting, and reopens the backlog once it is due")
    func backoffScheduling() {
        var m = machine()
        var backlog = records(1...1)
        let record = records(1...1)[0]
        _ = drain(&m, backlog: &backlog)
        let due = Self.start.addingTimeInterval(2)
        let error = RecordedError(kind: "timeout", message: "slow", at: Self.start)
        #expect(m.finished(outcome(record, .retryScheduled(error, at: due))) == .wait)
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(1)) == [.wait],
                "the backlog was found empty: it waits for its retry, and claims nothing before it is due")
        backlog = [record]
        #expect(drain(&m, backlog: &backlog, now: due) == [.claim(limit: 3), .start(record), .claim(limit: 3), .wait])
        _ = m.finished(outcome(record, classified))
        #expect(drain(&m, backlog: &backlog, now: due) == [.finish(release: [])])
        #expect(m.statistics.statistics.retried == 1)
    }

    @Test("a run told not to wait for retries ends when nothing is in flight")
    func leavesRetriesToALaterRun() {
        var m = machine { $0.waitForRetries = false }
        var backlog = records(1...1)
        _ = drain(&m, backlog: &backlog)
        let error = RecordedError(kind: "timeout", message: "slow", at: Self.start)
        _ = m.finished(outcome(records(1...1)[0], .retryScheduled(error, at: Self.start.addingTimeInterval(60))))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [])])
    }

    @Test("a failed attempt: run-level errors stop the run, query-level ones fail it, transient ones back off until the last attempt")
    func dispositions() {
        var configuration = BatchProcessor.Configuration()
        configuration.maxAttempts = 3
        configuration.retryPolicy = RetryPolicy(base: .seconds(2), maximum: .seconds(5))
        var generator = SeededGenerator(seed: 7)
        func disposition(_ error: ClassifierError, attempt: Int) -> RunStateMachine.Disposition {
            RunStateMachine.disposition(of: error, attempt: attempt, configuration: configuration, using: &generator)
        }
        #expect(disposition(.unauthorized("no key"), attempt: 1) == .stopRun)
        #expect(disposition(.rejected("too long"), attempt: 1) == .fail)
        #expect(disposition(.timeout("slow"), attempt: 3) == .fail)
        for (attempt, ceiling) in [(1, Duration.seconds(2)), (2, .seconds(4))] {
            guard case .retry(let delay) = disposition(.timeout("slow"), attempt: attempt) else {
                Issue.record("attempt \(attempt) of 3 must be retried")
                continue
            }
            #expect(delay >= .zero && delay <= ceiling)
        }
    }

    @Test("a run-level error aborts once, and every claim not finished is handed back")
    func runLevelStopReleasesEverything() {
        var m = machine()
        var backlog = records(1...5)
        let all = records(1...5)
        _ = drain(&m, backlog: &backlog)
        #expect(m.finished(outcome(all[0], .runStopped(.unauthorized("bad key")))) == .cancelInFlight)
        #expect(m.finished(outcome(all[1], .interrupted)) == .wait, "the run aborts once")
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [Claim(all[2]), Claim(all[0]), Claim(all[1])])])
        #expect(m.endState == .failed)
        #expect(m.runError?.contains("unauthorized") == true)
    }

    @Test("a store failure on a write or a claim aborts the run with the store's error")
    func storeFailureAborts() {
        var m = machine()
        var backlog = records(1...2)
        let all = records(1...2)
        _ = drain(&m, backlog: &backlog)
        #expect(m.finished(outcome(all[0], .storeFailed(StoreError.unavailable("gone")))) == .cancelInFlight)
        _ = m.finished(outcome(all[1], .interrupted))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [Claim(all[0]), Claim(all[1])])])
        #expect(m.runError?.hasPrefix("the store failed") == true)

        var n = machine()
        #expect(n.nextAction(now: Self.start) == .claim(limit: 3))
        #expect(n.claimFailed(StoreError.unavailable("gone"), stopping: false) == .cancelInFlight)
        #expect(n.nextAction(now: Self.start) == .finish(release: []))
        #expect(n.endState == .failed)
    }

    @Test("a gentle stop claims nothing more, lets in-flight work finish, and hands back what never started")
    func stopIsGentle() {
        var m = machine()
        var backlog = records(1...5)
        let all = records(1...5)
        _ = drain(&m, backlog: &backlog)
        m.stop()
        _ = m.finished(outcome(all[0], classified))
        #expect(drain(&m, backlog: &backlog) == [.wait], "no new start, no claim: one attempt is still in flight")
        _ = m.finished(outcome(all[1], classified))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [Claim(all[2])])])
        #expect(m.endState == .cancelled)
        #expect(m.runError == nil)
        #expect(m.statistics.statistics.classified == 2)

        var n = machine()
        #expect(n.nextAction(now: Self.start) == .claim(limit: 3))
        n.stop()
        #expect(n.claimFailed(StoreError.unavailable("gone"), stopping: true) == .wait,
                "a store outage while stopping only means nothing more to claim")
        #expect(n.nextAction(now: Self.start) == .finish(release: []))
        #expect(n.endState == .cancelled)
    }

    @Test("an abort cancels in-flight work once; the interrupted attempts are handed back")
    func abortCancels() {
        var m = machine()
        var backlog = records(1...5)
        let all = records(1...5)
        _ = drain(&m, backlog: &backlog)
        #expect(m.abort() == .cancelInFlight)
        #expect(m.abort() == .wait)
        #expect(m.aborted && m.stopped)
        _ = m.finished(outcome(all[0], .interrupted))
        _ = m.finished(outcome(all[1], classified))
        #expect(drain(&m, backlog: &backlog) == [.finish(release: [Claim(all[2]), Claim(all[0])])])
        #expect(m.endState == .cancelled)
    }

    @Test("a continuous run polls an empty store again after a wait that doubles up to its bound")
    func continuousPolling() {
        var m = machine { $0.continuous = true; $0.idlePoll = .seconds(1) ... .seconds(3) }
        var backlog: [QueryRecord] = []
        #expect(drain(&m, backlog: &backlog) == [.claim(limit: 3), .wait])
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(0.5)) == [.wait])
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(1)) == [.claim(limit: 3), .wait])
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(2.5)) == [.wait], "now 2 s")
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(3)) == [.claim(limit: 3), .wait])
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(5.5)) == [.wait], "at most 3 s")
        backlog = records(1...1)
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(6)).first == .claim(limit: 3))
        m.stop()
        _ = m.finished(outcome(records(1...1)[0], classified))
        #expect(drain(&m, backlog: &backlog, now: Self.start.addingTimeInterval(6)) == [.finish(release: [])])
    }

    @Test("leases are renewed every third of their duration, grouped by token, for everything held")
    func renewsLeases() {
        var m = machine { $0.leaseDuration = .seconds(30) }
        var backlog = records(1...3)
        _ = drain(&m, backlog: &backlog)
        #expect(m.leasesToRenew(at: Self.instant + .seconds(9)).isEmpty)
        let groups = m.leasesToRenew(at: Self.instant + .seconds(10))
        #expect(groups.count == 1)
        #expect(Set(groups[0].ids) == Set(records(1...3).map(\.id)) && groups[0].token == "t1")
        #expect(m.leasesToRenew(at: Self.instant + .seconds(11)).isEmpty, "renewed a second ago")
    }

    @Test("two claims of the same query (a lease that ran out) are told apart by their token")
    func twoClaimsOfOneQuery() {
        var m = machine()
        let first = records(1...1, token: "old")[0]
        let second = records(1...1, token: "new")[0]
        #expect(m.nextAction(now: Self.start) == .claim(limit: 3))
        m.claimed([first], now: Self.start)
        #expect(m.nextAction(now: Self.start) == .start(first))
        #expect(m.nextAction(now: Self.start) == .claim(limit: 3))
        m.claimed([second], now: Self.start)
        #expect(m.nextAction(now: Self.start) == .start(second))
        #expect(m.inFlightCount == 2)
        _ = m.finished(outcome(first, .leaseLost))
        #expect(m.inFlightCount == 1, "the old claim's end leaves the new one in flight")
        #expect(m.nextAction(now: Self.start) == .claim(limit: 3))
    }
}
