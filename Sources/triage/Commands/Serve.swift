import ArgumentParser
import AsyncHTTPClient
import Foundation
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

        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var processing: ProcessorOptions

        @Option(help: "Address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on (0: any free port, printed once listening).")
        var port = 8080

        @Flag(help: "Keep classifying new pending queries in the background (no command needed after ingest).")
        var workers = false

        @Option(help: ArgumentHelp("How long in-flight work may take to finish on shutdown.", valueName: "seconds"))
        var graceSeconds = 10

        @Option(help: ArgumentHelp("Largest request body accepted (413 beyond).", valueName: "bytes"))
        var maxBodyBytes: Int?

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

        @Option(help: ArgumentHelp("Runs started over the API that may run at once (429 beyond).", valueName: "n"))
        var maxRuns: Int?

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
            guard graceSeconds >= 0 else { throw ValidationError("--grace-seconds must be 0 or more") }
            if let maxBodyBytes, maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
            if let maxRuns, maxRuns < 1 { throw ValidationError("--max-runs must be at least 1") }
        }

        func run() async throws {
            let logger = CLILogging.logger("triage.serve")
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.workers = workers
            configuration.gracePeriod = .seconds(graceSeconds)
            configuration.allowUnauthenticated = noAuth
            var flags = ServerSettings()
            flags.protect = protect
            flags.allowedHosts = allowedHost
            flags.maxBodyBytes = maxBodyBytes
            flags.maxRuns = maxRuns
            configuration.apply(flags: flags, environment: ServerSettings(environment: ProcessInfo.processInfo.environment),
                                file: try classifier.configFile().server ?? ServerSettings())
            do {
                try configuration.validate()
            } catch let invalid as ServerConfiguration.Invalid {
                throw CLIError(invalid.description)
            }
            if configuration.apiKeys.isEmpty {
                guard noAuth else {
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
            let store = try await self.store.open()
            let llmURL = try classifier.resolved().llm?.baseURL
            let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            if let llmURL {
                configuration.readinessCheck = { await Self.probe(llmURL, client: httpClient) }
            }
            do {
                try await classifier.withClassifier(concurrency: processing.maxConcurrent, store: store) { classifier, name in
                    configuration.processor = processing.configuration(classifierName: name)
                    if processing.via == .batch, classifier.batches == nil {
                        throw CLIError("--via batch needs a provider's batch API: --llm openai or --llm anthropic")
                    }
                    let (store, workers, shown) = (store, workers, self.store.displayURI)
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
