import Foundation
import Synchronization
import TriageProcessor

/// Shows a run's progress on standard error: a live line redrawn in place on a terminal, plain lines every few
/// seconds otherwise (logs, CI).
final class ProgressReporter: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(60)
        var drewLine = false
        /// The provider batches as last shown.
        var batches: [String: BatchProgress] = [:]
    }

    private let interactive: Bool
    private let interval: Duration
    private let state = Mutex(State())

    init(interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.interactive = interactive
        interval = interactive ? .milliseconds(100) : .seconds(5)
    }

    func update(_ progress: RunProgress) {
        let now = ContinuousClock.now
        let line: String? = state.withLock { state in
            guard now - state.lastDraw >= interval else { return nil }
            state.lastDraw = now
            state.drewLine = true
            return Self.render(progress)
        }
        guard let line else { return }
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[2K" + line : line + "\n").utf8))
    }

    /// Prints a line for each provider batch that is new or changed since the last progress.
    func batches(_ progress: RunProgress) {
        let changed: [BatchProgress] = state.withLock { state in
            (progress.batches ?? []).filter { batch in
                defer { state.batches[batch.id] = batch }
                return state.batches[batch.id] != batch
            }
        }
        guard !changed.isEmpty else { return }
        let lines = changed.map { Self.render($0, runId: progress.runId) }.joined(separator: "\n") + "\n"
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[2K" : "") + lines).utf8))
    }

    /// `batch batch_abc: in_progress, 120 of 500 done, 3 failed (sent by an earlier run)`
    static func render(_ batch: BatchProgress, runId: String) -> String {
        "batch \(batch.providerBatchId ?? batch.id): \(batch.state.rawValue), "
            + "\(Format.count(batch.succeeded + batch.failed)) of \(Format.count(batch.total)) done"
            + (batch.failed > 0 ? ", \(Format.count(batch.failed)) failed" : "")
            + (batch.runId != runId ? " (sent by an earlier run, followed by this one)" : "")
    }

    /// Draws the final state and ends the line.
    func finish(_ progress: RunProgress) {
        let drew = state.withLock { $0.drewLine }
        guard drew || !interactive else { return }
        let line = Self.render(progress)
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[2K" + line + "\n" : line + "\n").utf8))
    }

    /// `[████░░░░] 1,234/5,000 24.7%  52.1 q/s  ETA 1m12s  failed 3  retrying 2  in flight 10`
    static func render(_ p: RunProgress) -> String {
        let width = 24
        let filled = Int((p.fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var parts = [
            "[\(bar)] \(Format.count(p.done))/\(Format.count(p.total)) \(String(format: "%5.1f%%", p.fraction * 100))",
            String(format: "%.1f q/s", p.rate),
            "ETA " + (p.etaSeconds.map(Format.duration) ?? "--"),
        ]
        if p.failed > 0 { parts.append("failed \(p.failed)") }
        if p.retried > 0 { parts.append("retried \(p.retried)") }
        if let batches = p.batches {
            parts.append("batches \(batches.count)")
            if let gathering = p.gathering, gathering > 0 { parts.append("gathering \(Format.count(gathering))") }
        }
        parts.append("in flight \(p.inFlight)")
        if p.paused != nil { parts.append("PAUSED: provider not answering") }
        return parts.joined(separator: "  ")
    }
}
