import Synchronization

/// Lets another task ask a running ``BatchProcessor`` to stop: gently (finish what is in flight) or at once
/// (cancel in-flight classifications and hand their queries back).
public final class RunControl: Sendable {
    private struct State {
        var stopRequested = false
        var abortRequested = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Stop claiming; let in-flight classifications finish; hand back what was claimed but not started.
    public func requestStop() {
        state.withLock { $0.stopRequested = true }
    }

    /// Cancel in-flight classifications and hand every claimed query back untouched.
    public func requestAbort() {
        state.withLock {
            $0.stopRequested = true
            $0.abortRequested = true
        }
    }

    /// A first call asks for a stop, a second for an abort: what Ctrl-C does.
    public func escalate() {
        state.withLock {
            if $0.stopRequested { $0.abortRequested = true }
            $0.stopRequested = true
        }
    }

    public var stopRequested: Bool { state.withLock { $0.stopRequested } }
    public var abortRequested: Bool { state.withLock { $0.abortRequested } }
}
