import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TriageCore
import TriageProcessor

/// What `POST /v1/runs` asks for: lower limits than the operator's, and a receiver for the end event.
struct RunRequest: Sendable, Codable, Hashable {
    var batchSize: Int?
    var maxConcurrent: Int?
    var limit: Int?
    /// `online` (the default) or `batch`: through the provider's batch API at half the price.
    var via: BatchProcessor.Configuration.Via?
    /// A receiver for this run's end event, besides the configured ones; see ``WebhookTargetPolicy``.
    var webhook: String?
}

/// A run as the API shows it: live progress while it runs, then the record it left.
struct RunView: Sendable, Codable, Hashable {
    var id: String
    var state: RunState
    var progress: RunProgress?
    var etaSeconds: Double?
    var record: RunRecord?
}

/// Runs started through the API and the background workers, as a service: runs live inside ``run()``'s task group
/// (structured concurrency), and a graceful shutdown stops them within the grace period, hands back what is
/// unfinished, delivers their webhooks, then returns.
final class RunManager: Service, Sendable {
    private struct Pending: Sendable {
        let id: String
        let processor: BatchProcessor.Configuration
        let webhook: String?
        let handle: Handle
    }

    /// One run's control and latest progress.
    final class Handle: Sendable {
        let control = RunControl()
        let progress: Mutex<RunProgress>

        init(id: String) {
            progress = Mutex(RunProgress(runId: id, state: .running, total: 0, classified: 0, failed: 0, retried: 0,
                                         inFlight: 0, elapsedSeconds: 0))
        }
    }

    private let store: any QueryStore
    private let classifier: any Classifier
    private let configuration: ServerConfiguration
    private let metrics: TriageMetrics
    private let logger: Logger
    private let active = Mutex<[String: Handle]>([:])
    private let accepting = Mutex(true)
    /// When a shutdown's grace period ends, once one has begun: webhook deliveries end by then too.
    private let shutdownDeadline = Mutex<ContinuousClock.Instant?>(nil)
    private let starts: AsyncStream<Pending>
    private let startsContinuation: AsyncStream<Pending>.Continuation

    init(store: any QueryStore, classifier: any Classifier, configuration: ServerConfiguration,
         metrics: TriageMetrics, logger: Logger) {
        self.store = store
        self.classifier = classifier
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        (starts, startsContinuation) = AsyncStream.makeStream(of: Pending.self)
    }

    /// Queues a run and returns its id at once.
    /// - Parameters:
    ///   - processor: How the run processes queries (the operator's configuration, lowered by the request).
    ///   - webhook: A receiver the client named, already checked against the webhook policy.
    /// - Throws: ``ServiceUnavailable`` once shutdown has begun; ``TooManyRuns`` at the configured most at once.
    func start(processor: BatchProcessor.Configuration, webhook: String?) throws -> String {
        let id = UUID().uuidString.lowercased()
        let handle = Handle(id: id)
        try accepting.withLock { accepting in
            guard accepting else { throw ServiceUnavailable() }
            try active.withLock {
                guard $0.count < configuration.maxActiveRuns else { throw TooManyRuns() }
                $0[id] = handle
            }
            // Queued under the lock that shutdown takes to close the queue: a run registered here is always queued,
            // and every queued run is started (see `run()`), so shutdown never waits for a run that cannot end.
            startsContinuation.yield(Pending(id: id, processor: processor, webhook: webhook, handle: handle))
        }
        metrics.runs(active: active.withLock { $0.count })
        return id
    }

    struct ServiceUnavailable: Error {}
    struct TooManyRuns: Error {}

    /// Asks a running run to stop: it claims nothing more, finishes what is in flight and hands the rest back.
    /// - Returns: Whether the run was running here.
    func cancel(_ id: String) -> Bool {
        guard let handle = active.withLock({ $0[id] }) else { return false }
        handle.control.requestStop()
        return true
    }

    /// Live progress of a run running here, or `nil`.
    func progress(of id: String) -> RunProgress? {
        active.withLock { $0[id] }?.progress.withLock { $0 }
    }

    /// Progress of every run running here.
    func activeProgress() -> [RunProgress] {
        active.withLock { Array($0.values) }.map { $0.progress.withLock { $0 } }.sorted { $0.runId < $1.runId }
    }

    func run() async throws {
        // Webhooks follow no redirect: a 3xx would re-send the signed body wherever its Location points.
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var deliverer = WebhookDeliverer(client: client, configuration: configuration.webhooks, logger: logger)
        deliverer.stopBy = { [self] in shutdownDeadline.withLock { $0 } }
        let webhooks = deliverer
        await withDiscardingTaskGroup { group in
            if configuration.workers {
                group.addTask { await self.work() }
            }
            group.addTask {
                // Shutdown: accept no more runs, stop the running ones gently, and after the grace period at once.
                try? await gracefulShutdown()
                let deadline = ContinuousClock.now + self.configuration.gracePeriod
                self.shutdownDeadline.withLock { $0 = deadline }
                self.stopAccepting()
                self.active.withLock { Array($0.values) }.forEach { $0.control.requestStop() }
                while ContinuousClock.now < deadline, !self.active.withLock({ $0.isEmpty }) {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                self.active.withLock { Array($0.values) }.forEach { $0.control.requestAbort() }
            }
            // Every queued run starts, even during shutdown (it was told to stop and ends at once, recorded): the
            // loop ends when shutdown closes the queue, not before.
            for await pending in starts {
                group.addTask { await self.execute(pending, webhooks: webhooks) }
            }
            // No more runs will start; the group waits for the ones running, then the shutdown task.
            self.stopAccepting()
        }
        try? await client.shutdown()
    }

    /// Refuses new runs and closes the queue, under the lock `start` queues with.
    private func stopAccepting() {
        accepting.withLock {
            $0 = false
            startsContinuation.finish()
        }
    }

    private func execute(_ pending: Pending, webhooks: WebhookDeliverer) async {
        let meter = ProgressMeter(metrics: metrics)
        let handle = pending.handle
        do {
            var record = try await BatchProcessor(store: store, classifier: classifier,
                                                  configuration: pending.processor, logger: logger)
                .run(id: pending.id, control: handle.control) { progress in
                    handle.progress.withLock { $0 = progress }
                    meter.record(progress)
                }
            // The run is over: its slot is free now, whatever its receivers take (each attempt within its timeout).
            finished(pending.id)
            let targets = configuration.webhookURLs.map { WebhookDeliverer.Target(url: $0, trusted: true) }
                + (pending.webhook.map { [WebhookDeliverer.Target(url: $0, trusted: false)] } ?? [])
            if !targets.isEmpty {
                record.webhookDeliveries = await webhooks.deliver(WebhookEvent(record: record), to: targets)
                try? await store.saveRun(record)
            }
        } catch {
            logger.error("run could not be recorded", metadata: ["run.id": "\(pending.id)", "error": "\(error)"])
        }
        finished(pending.id)
    }

    private func finished(_ id: String) {
        let count = active.withLock {
            $0[id] = nil
            return $0.count
        }
        metrics.runs(active: count)
    }

    /// The background worker: a continuous run until shutdown, stopped gently and then, after the grace period, at once.
    private func work() async {
        var processor = configuration.processor
        processor.continuous = true
        let control = RunControl()
        let meter = ProgressMeter(metrics: metrics)
        await withTaskGroup(of: Void.self) { [processor] group in
            group.addTask {
                do {
                    _ = try await BatchProcessor(store: self.store, classifier: self.classifier, configuration: processor,
                                                 logger: self.logger)
                        .run(control: control) { meter.record($0) }
                } catch {
                    self.logger.error("worker stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                control.requestStop()
                try? await Task.sleep(for: self.configuration.gracePeriod)
                control.requestAbort()
            }
            await group.next()
            group.cancelAll()
        }
    }
}
