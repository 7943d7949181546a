import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import TriageCore
import TriageProcessor

/// Everything the application serves from, injected.
public struct ServerDependencies: Sendable {
    public var store: any QueryStore
    public var classifier: any Classifier
    public var metrics: TriageMetrics

    public init(store: any QueryStore, classifier: any Classifier, metrics: TriageMetrics = TriageMetrics()) {
        self.store = store
        self.classifier = classifier
        self.metrics = metrics
    }
}

/// The HTTP application: the API, the workers and the run manager, run together by swift-service-lifecycle.
///
/// - Parameter onListening: Called with the port once the server listens (useful with port 0).
public func buildApplication(
    configuration: ServerConfiguration, dependencies: ServerDependencies, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    // One classifier for the whole application, metered once: `/v1/classify`, API runs and the workers share it.
    var dependencies = dependencies
    dependencies.classifier = MeteredClassifier(base: dependencies.classifier, metrics: dependencies.metrics)
    let runs = RunManager(store: dependencies.store, classifier: dependencies.classifier, configuration: configuration,
                          metrics: dependencies.metrics, logger: logger)
    let router = buildRouter(configuration: configuration, dependencies: dependencies, runs: runs, logger: logger)
    return Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [BodyDeadlineHandler(timeout: TimeAmount(configuration.bodyTimeout))],
            idleTimeout: TimeAmount(configuration.idleTimeout))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "triage"),
        services: [runs],
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The routes, as `GET /openapi.json` documents them: each resource's handlers are a controller (queries, runs,
/// stats under `/v1`; the operational routes outside it), mounted here.
///
/// Who may call a route is decided by the group the route is in, never by reading the request's path: the key check
/// is middleware of the `/v1` group and of the group holding the protected operational routes, so it runs for every
/// request the router resolves to those routes, however the path was spelled.
func buildRouter(
    configuration: ServerConfiguration, dependencies: ServerDependencies, runs: RunManager, logger: Logger
) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: RequestGuardMiddleware(listenHost: configuration.host,
                                                  allowedHosts: configuration.allowedHosts))
    let keyCheck = APIKeyMiddleware<BasicRequestContext>(keys: configuration.apiKeys,
                                                         allowUnauthenticated: configuration.allowUnauthenticated)
    let api = router.group("v1").add(middleware: keyCheck).add(middleware: JSONBodyMiddleware())
        .add(middleware: StoreErrorMiddleware(logger: logger))
    let store = dependencies.store
    QueriesController(store: store, classifier: dependencies.classifier, maxBodyBytes: configuration.maxBodyBytes,
                      maxPageBytes: configuration.maxPageBytes,
                      classifySlots: SlotLimit(capacity: configuration.processor.maxConcurrent),
                      classifyWait: configuration.classifyWait)
        .addRoutes(to: api)
    RunsController(store: store, classifier: dependencies.classifier, runs: runs, configuration: configuration)
        .addRoutes(to: api)
    StatsController(store: store, runs: runs, configuration: configuration,
                    categories: dependencies.classifier.taxonomy.categoryNames).addRoutes(to: api)
    let operations = OperationsController(configuration: configuration, dependencies: dependencies, logger: logger)
    operations.addRoutes(open: router, keyed: router.group().add(middleware: keyCheck),
                         protected: Set(configuration.protectedPaths.map(ServerConfiguration.routePath)))
    return router
}
