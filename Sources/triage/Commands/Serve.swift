import ArgumentParser
import AsyncHTTPClient
import Foundation
import Configuration
import Hummingbird
import TriageCore
import TriageServer

extension Triage {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the HTTP API, the status page and metrics; with --workers, classify new queries as they arrive.",
            discussion: """
                JSON API under /v1 (classify, ingest, queries, runs, stats), GET / (status page), /healthz, \
                /readyz, /metrics (Prometheus) and /openapi.json.

                API keys (bearer tokens) from TRIAGE_API_KEYS (comma-separated) or the config file's \
                server.apiKeys protect every /v1 route and the status page's data; without keys serve refuses to \
                start unless --no-auth opens the API to anyone who can reach it. Requests must name this server \
                as their Host (an IP address, localhost, --host or --allowed-host), and /v1 bodies must be JSON.

                Webhooks: TRIAGE_WEBHOOK_URLS (comma-separated) or server.webhooks receive every run's end event, \
                signed with TRIAGE_WEBHOOK_SECRET (docs/server.md shows how to verify). A run requested over the \
                API may name its own webhook only on a host in TRIAGE_WEBHOOK_HOSTS or server.webhookHosts \
                (exact names or *.domain) that resolves to public addresses (docs/security.md).

                SIGTERM or SIGINT: stop accepting, let in-flight classifications finish within --grace-seconds, \
                hand the rest back to pending, deliver pending webhooks, exit 0.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var processing: ProcessorOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let logger = CLILogging.logger("triage.serve")
            let config = try settings.reader(store, classifier, processing, server)
            var configuration = try config.build(ServerConfiguration.init(config:))
            let (host, port) = (configuration.host, configuration.port)
            if configuration.apiKeys.isEmpty {
                guard configuration.allowUnauthenticated else {
                    throw CLIError("""
                        no API keys configured: set TRIAGE_API_KEYS=KEY[,KEY…] (or server.apiKeys in the config \
                        file), or pass --no-auth to serve the API to anyone who can reach \(host):\(port)
                        """)
                }
                logger.warning("""
                    --no-auth: the /v1 API is open to anyone who can reach \(host):\(port), customers' texts included
                    """)
                FileHandle.standardError.write(Data("""
                    Warning: --no-auth: the API is open to anyone who can reach \(host):\(port), customers' texts \
                    included.

                    """.utf8))
            }
            let store = try await config.openStore()
            let llmURL = try config.classifierSettings().llm?.baseURL
            let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            if let llmURL {
                configuration.readinessCheck = { await Self.probe(llmURL, client: httpClient) }
            }
            do {
                try await config.withClassifier(concurrency: configuration.processor.maxConcurrent,
                                                store: store) { classifier, name in
                    configuration.processor.classifierName = name
                    if configuration.processor.via == .batch, classifier.batches == nil {
                        throw CLIError("--via batch needs a provider's batch API: --llm openai or --llm anthropic")
                    }
                    let (store, workers, shown) = (store, configuration.workers,
                                                   try config.storeConfiguration().displayURI)
                    let app = buildApplication(
                        configuration: configuration,
                        dependencies: ServerDependencies(store: store, classifier: classifier),
                        logger: logger,
                        onListening: { port in
                            FileHandle.standardError.write(Data("""
                                Serving \(shown) on http://\(host):\(port)\(workers ? " with workers" : "") \
                                (SIGTERM or Ctrl-C to stop)

                                """.utf8))
                        }
                    )
                    try await app.runService()
                }
            } catch {
                try? await httpClient.shutdown()
                throw error
            }
            try await httpClient.shutdown()
        }

        /// Whether the LLM endpoint answers at all (any HTTP status counts); `nil` when it does.
        static func probe(_ baseURL: String, client: HTTPClient) async -> String? {
            var request = HTTPClientRequest(url: baseURL.hasSuffix("/") ? baseURL + "models" : baseURL + "/models")
            request.method = .GET
            do {
                _ = try await client.execute(request, timeout: .seconds(3))
                return nil
            } catch {
                return "\(URL(string: baseURL)?.host ?? "the LLM endpoint") does not answer: \(error)"
            }
        }
    }
}

/// `triage serve`'s own flags: the flags' layer of the `server.*` settings (``TriageConfig``); the defaults are
/// `ServerConfiguration`'s.
struct ServerOptions: ParsableArguments, SettingFlags {
    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1). (env: TRIAGE_SERVER_HOST)",
                               valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("Port to listen on (0: any free port, printed once listening; default 8080). "
                               + "(env: TRIAGE_SERVER_PORT)", valueName: "port"))
    var port: Int?

    @Flag(help: "Keep classifying new pending queries in the background (no command needed after ingest).")
    var workers = false

    @Option(help: ArgumentHelp("How long in-flight work may take to finish on shutdown (default 10). "
                               + "(env: TRIAGE_SERVER_GRACE_SECONDS)", valueName: "seconds"))
    var graceSeconds: Int?

    @Option(help: ArgumentHelp("Largest request body accepted, 413 beyond (default 1 MiB). "
                               + "(env: TRIAGE_SERVER_MAX_BODY_BYTES)", valueName: "bytes"))
    var maxBodyBytes: Int?

    @Option(help: ArgumentHelp("How long a connection may stay open with no request in progress; a request's head must "
                               + "arrive within it too (default 30). (env: TRIAGE_SERVER_IDLE_TIMEOUT_SECONDS)",
                               valueName: "seconds"))
    var idleTimeoutSeconds: Double?

    @Option(help: ArgumentHelp("How long a request's body may take once its head has arrived; the connection is closed "
                               + "then (default 30). (env: TRIAGE_SERVER_BODY_TIMEOUT_SECONDS)", valueName: "seconds"))
    var bodyTimeoutSeconds: Double?

    @Option(help: ArgumentHelp("""
        A path outside /v1 that needs an API key too (repeatable): /, /healthz, /readyz, /metrics, /openapi.json.
        """, valueName: "path"))
    var protect: [String] = []

    @Flag(help: "Serve /v1 without API keys, to anyone who can reach the server (refused otherwise).")
    var noAuth = false

    @Option(help: ArgumentHelp("""
        A host name clients may address besides IP addresses, localhost and --host (repeatable; exact or \
        *.domain; also TRIAGE_ALLOWED_HOSTS).
        """, valueName: "name"))
    var allowedHost: [String] = []

    @Option(help: ArgumentHelp("Runs started over the API that may run at once, 429 beyond (default 4). "
                               + "(env: TRIAGE_SERVER_MAX_RUNS)", valueName: "n"))
    var maxRuns: Int?

    var settings: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values["server.host"] = host.map(ConfigContent.string)
        values["server.port"] = port.map(ConfigContent.int)
        if workers { values["server.workers"] = .bool(true) }
        values["server.graceSeconds"] = graceSeconds.map(ConfigContent.int)
        values["server.maxBodyBytes"] = maxBodyBytes.map(ConfigContent.int)
        values["server.idleTimeoutSeconds"] = idleTimeoutSeconds.map(ConfigContent.double)
        values["server.bodyTimeoutSeconds"] = bodyTimeoutSeconds.map(ConfigContent.double)
        if !protect.isEmpty { values["server.protect"] = .stringArray(protect) }
        if noAuth { values["server.noAuth"] = .bool(true) }
        if !allowedHost.isEmpty { values["server.allowedHosts"] = .stringArray(allowedHost) }
        values["server.maxRuns"] = maxRuns.map(ConfigContent.int)
        return values
    }
}
