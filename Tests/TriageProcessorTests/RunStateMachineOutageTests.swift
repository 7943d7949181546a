import Foundation
import Testing
import TriageCore
@testable import TriageProcessor

/// Provider outages: attempts that find the provider down pause the run instead of spending the backlog's attempts.
@Suite("RunStateMachine: provider outages")
struct RunStateMachineOutageTests {
    typealias Claim = RunStateMachine.Claim
    let base = RunStateMachineTests()
    let down = ClassifierError.connection("connection refused")
    var start: Date { RunStateMachineTests.start }

    func machine(_ configure: (inout BatchProcessor.Configuration) -> Void = { _ in }) -> RunStateMachine {
        base.machine {
            $0.batchSize = 3
            $0.maxConcurrent = 3
            $0.outageProbe = .seconds(1) ... .seconds(4)
            configure(&$0)
        }
    }

    @Test("three attempts in a row finding the provider down pause the run: nothing written, everything handed back")
    func pauses() {
        var m = machine()
        var backlog = base.records(1...6)
        let held = base.records(1...3)
        _ = base.drain(&m, backlog: &backlog)
        #expect(m.finished(base.outcome(held[0], .unavailable(down)), now: start) == .wait)
        #expect(m.finished(base.outcome(held[1], .unavailable(down)), now: start) == .wait)
        #expect(!m.paused, "two are not an outage yet")
        _ = m.finished(base.outcome(held[2], .unavailable(down)), now: start)
        #expect(m.paused)
        #expect(m.nextAction(now: start) == .release(held.map(Claim.init)))
        #expect(m.nextAction(now: start) == .wait, "no claim while paused")
        #expect(m.nextAction(now: start.addingTimeInterval(0.9)) == .wait)
        let stats = m.statistics.statistics
        #expect(stats.failed == 0 && stats.retried == 0, "no attempt was spent")
        #expect(stats.errorsByKind == ["connection": 3])
        // The first probe, one query, a second later.
        #expect(m.nextAction(now: start.addingTimeInterval(1)) == .claim(limit: 1))
    }

    @Test("a claim still out when the provider goes down is handed back when it returns, never dropped")
    func claimOutstandingAtOutage() {
        var m = machine { $0.batchSize = 4; $0.maxConcurrent = 4 }
        var backlog = base.records(1...8)
        let held = base.records(1...4)
        _ = base.drain(&m, backlog: &backlog)
        // One attempt ends well and frees a slot: the run asks for more, and the claim is still out...
        #expect(m.finished(base.outcome(held[0], base.classified), now: start) == .wait)
        #expect(m.nextAction(now: start) == .claim(limit: 4))
        #expect(m.nextAction(now: start) == .wait, "no second claim while one is out")
        // ...when the three others find the provider down: an outage.
        for record in held[1...3] { _ = m.finished(base.outcome(record, .unavailable(down)), now: start) }
        #expect(m.paused)
        let late = base.records(5...8)
        m.claimed(late, now: start)
        var handedBack: [Claim] = []
        while case .release(let claims) = m.nextAction(now: start) {
            handedBack += claims
            m.released(claims.count)
        }
        #expect(Set(handedBack) == Set((held[1...3] + late).map(Claim.init)), "the late claim goes back too")
    }

    @Test("a failed probe waits twice as long; a probe that answers resumes the run at full width")
    func probes() {
        var m = machine()
        var backlog = base.records(1...6)
        _ = base.drain(&m, backlog: &backlog)
        for record in base.records(1...3) { _ = m.finished(base.outcome(record, .unavailable(down)), now: start) }
        _ = m.nextAction(now: start)
        var t = start.addingTimeInterval(1)
        #expect(m.nextAction(now: t) == .claim(limit: 1))
        let probe = base.records(1...1)[0]
        m.claimed([probe], now: t)
        #expect(m.nextAction(now: t) == .start(probe))
        _ = m.finished(base.outcome(probe, .unavailable(down)), now: t)
        #expect(m.nextAction(now: t) == .release([Claim(probe)]))
        #expect(m.nextAction(now: t.addingTimeInterval(1.9)) == .wait)
        t = t.addingTimeInterval(2)
        #expect(m.nextAction(now: t) == .claim(limit: 1))
        m.claimed([probe], now: t)
        _ = m.nextAction(now: t)
        _ = m.finished(base.outcome(probe, base.classified), now: t)
        #expect(!m.paused)
        #expect(m.nextAction(now: t) == .claim(limit: 3), "the backlog is open again")
    }

    @Test("failures held back count after all once the provider answers another query")
    func settlesWhenProviderAnswers() {
        var m = machine()
        var backlog = base.records(1...6)
        let held = base.records(1...3)
        _ = base.drain(&m, backlog: &backlog)
        _ = m.finished(base.outcome(held[0], .unavailable(down)), now: start)
        _ = m.finished(base.outcome(held[1], base.classified), now: start)
        #expect(!m.paused)
        #expect(m.nextAction(now: start) == .settle(held[0], down))
    }

    @Test("one failure with nothing else to compare it with pauses too")
    func aloneIsEnough() {
        var m = machine()
        var backlog = base.records(1...1)
        _ = base.drain(&m, backlog: &backlog)
        _ = m.finished(base.outcome(base.records(1...1)[0], .unavailable(down)), now: start)
        _ = base.drain(&m, backlog: &backlog)
        #expect(m.paused)
        #expect(m.statistics.statistics.released == 1)
    }

    @Test("past the outage budget the run stops, with the backlog pending")
    func budget() {
        var m = machine { $0.providerOutageBudget = .seconds(10) }
        var backlog = base.records(1...3)
        _ = base.drain(&m, backlog: &backlog)
        for record in base.records(1...3) { _ = m.finished(base.outcome(record, .unavailable(down)), now: start) }
        _ = m.nextAction(now: start)
        #expect(m.nextAction(now: start.addingTimeInterval(11)) == .cancelInFlight)
        #expect(m.runError?.contains("has not answered for 11 s") == true)
        #expect(m.nextAction(now: start.addingTimeInterval(11)) == .finish(release: []))
        #expect(m.endState == .failed)
    }
}

extension RunStateMachineOutageTests {
    @Test("an answer to a request sent before a failure does not make that failure count")
    func onlyLaterRequestsProveTheProviderUp() {
        var m = machine()
        var backlog = base.records(1...6)
        let held = base.records(1...3)
        _ = base.drain(&m, backlog: &backlog, now: start)
        let later = start.addingTimeInterval(1)
        _ = m.finished(base.outcome(held[0], .unavailable(down)), now: later)
        // held[1] was sent at `start`, before the failure was seen: its answer proves nothing about after.
        _ = m.finished(base.outcome(held[1], base.classified), now: later)
        #expect(m.nextAction(now: later) != .settle(held[0], down))
        #expect(m.statistics.statistics.retried == 0)
    }
}
