import Foundation
import Logging
import TriageCore

/// The run's way to the store: every call waits out an unreachable store (a lost connection, a failover) with
/// backoff, for up to ``BatchProcessor/Configuration/storeOutageBudget``, and the writes that must land even while a
/// run is cancelled run shielded from its cancellation. Queries are never marked failed for an outage.
struct StoreAccess: Sendable {
    let store: any QueryStore
    let configuration: BatchProcessor.Configuration
    let logger: Logger

    /// Claims up to `limit` due queries for this worker.
    func claim(limit: Int, giveUp: @Sendable () -> Bool) async throws -> [QueryRecord] {
        try await reconnecting("claim", giveUp: giveUp) { [store, configuration] in
            try await store.claim(limit: limit, owner: configuration.owner, leaseFor: configuration.leaseDuration,
                                  now: Date())
        }
    }

    /// Extends the leases of the claims still held; a failure is logged, and the lease may run out.
    func renew(_ groups: [RunStateMachine.LeaseGroup]) async {
        for group in groups {
            do {
                _ = try await store.renew(group.ids, token: group.token, leaseFor: configuration.leaseDuration,
                                          now: Date())
            } catch {
                logger.info("lease renewal failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Hands claims back untouched, shielded from cancellation.
    /// - Returns: How many queries went back to `pending`.
    func release(_ groups: [RunStateMachine.LeaseGroup], giveUp: @escaping @Sendable () -> Bool) async -> Int {
        var released = 0
        for group in groups {
            do {
                released += try await Self.shielded { [self] in
                    try await reconnecting("release", giveUp: giveUp) {
                        try await store.release(group.ids, token: group.token)
                    }
                }
            } catch {
                logger.info("could not hand claimed queries back; their leases will expire", metadata: [
                    "error": "\(error)", "queries": "\(group.ids.count)",
                ])
            }
        }
        return released
    }

    /// Writes results in groups (``GroupedCalls``), each fenced by its lease, shielded from cancellation (a result
    /// already paid for is written even while the run is cancelled) and waiting out store outages until `giveUp()`.
    /// Answers per result whether its lease was lost.
    func resultWriter(giveUp: @escaping @Sendable () -> Bool) -> GroupedCalls<ResultWrite, Bool> {
        GroupedCalls { [self] results in try await write(results, giveUp: giveUp) }
    }

    /// Writes one group of results; answers per result whether its lease was lost.
    ///
    /// A run may hold two claims of one query (a lease ran out while its attempt was still running): such results
    /// go in separate writes, so that each id in a write names one result.
    func write(_ results: [ResultWrite], giveUp: @escaping @Sendable () -> Bool) async throws -> [Bool] {
        var lost = [Bool](repeating: false, count: results.count)
        var remaining = Array(results.indices)
        while !remaining.isEmpty {
            var ids = Set<QueryID>()
            let (round, later) = remaining.reduce(into: ([Int](), [Int]())) { split, index in
                if ids.insert(results[index].id).inserted { split.0.append(index) } else { split.1.append(index) }
            }
            let refused = try await Self.shielded { [self] in
                try await reconnecting("write", giveUp: giveUp) { try await store.write(round.map { results[$0] }) }
            }
            for index in round { lost[index] = refused.contains(results[index].id) }
            remaining = later
        }
        return lost
    }

    /// Looks up reusable answers (``QueryStore/reusable(_:)``) in groups; a failed look-up finds nothing.
    func reuseLookup() -> GroupedCalls<String, QueryRecord?> {
        GroupedCalls { [store] keys in
            let found = (try? await store.reusable(keys)) ?? [:]
            return keys.map { found[$0] }
        }
    }

    /// Runs `body`, and while the store is unreachable pauses with backoff and tries again. Other errors, an
    /// exhausted budget, or `giveUp()` turning true end the wait with the store's error.
    func reconnecting<T: Sendable>(
        _ operation: String,
        giveUp: @Sendable () -> Bool,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        var retry = 0
        while true {
            do {
                let result = try await body()
                if retry > 0 {
                    logger.warning("store reachable again; the run continues", metadata: [
                        "store.operation": "\(operation)", "store.paused_for": "\(ContinuousClock.now - started)",
                    ])
                }
                return result
            } catch let error as StoreError where error.isUnavailable {
                guard ContinuousClock.now - started < configuration.storeOutageBudget, !giveUp() else { throw error }
                retry += 1
                if retry == 1 {
                    logger.warning("store unreachable; pausing and retrying", metadata: [
                        "store.operation": "\(operation)", "error": "\(error)",
                    ])
                }
                try await Task.sleep(for: configuration.storeRetryPolicy.delay(forRetry: retry))
            }
        }
    }

    /// Runs `body` in a task that does not inherit cancellation, for writes that must land even while the run
    /// is being cancelled (a result already paid for, claims handed back, the run record).
    static func shielded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await body() }.value
    }

    /// ``shielded(_:)`` for work that cannot fail.
    static func shielded<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await Task { await body() }.value
    }
}
