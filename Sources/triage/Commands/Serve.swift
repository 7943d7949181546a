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
                /readyz, /metrics (Prometheus) and /openapi.json. API keys (bearer tokens) from TRIAGE_API_KEYS \
                (comma-separated) or the config file's server.apiKeys protect every /v1 route; without keys the \
                API is open, so it listens on loopback by default. Webhooks: TRIAGE_WEBHOOK_URLS (comma-separated) \
                or server.webhooks receive every run's end event, signed with TRIAGE_WEBHOOK_SECRET \
                (docs/server.md shows how to verify).

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

        @Option(help: ArgumentHelp("A path outside /v1 that needs an API key too (repeatable), e.g. /metrics.",
                                   valueName: "path"))
        var protect: [String] = []

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
            guard graceSeconds >= 0 else { throw ValidationError("--grace-seconds must be 0 or more") }
            if let maxBodyBytes, maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
        }

        func run() async throws {
            let logger = CLILogging.logger("triage.serve")
            let environment = ProcessInfo.processInfo.environment
            let file = try classifier.configFile()
            let store = try await self.store.open()
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.workers = workers
            configuration.gracePeriod = .seconds(graceSeconds)
            configuration.apiKeys = Set(Self.list(environment["TRIAGE_API_KEYS"]) + (file.server?.apiKeys ?? []))
            configuration.protectedPaths = Set(protect + (file.server?.protect ?? []))
            configuration.maxBodyBytes = maxBodyBytes ?? file.server?.maxBodyBytes ?? configuration.maxBodyBytes
            configuration.webhookURLs = Self.list(environment["TRIAGE_WEBHOOK_URLS"]) + (file.server?.webhooks ?? [])
            configuration.webhooks.secret = environment["TRIAGE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
            let llmURL = try classifier.llmBaseURL()
            let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            if let llmURL {
                configuration.readinessCheck = { await Self.probe(llmURL, client: httpClient) }
            }
            if configuration.apiKeys.isEmpty {
                logger.warning("no API keys configured (TRIAGE_API_KEYS): the /v1 API is open to anyone who can reach \(host)")
            }
            do {
                try await classifier.withClassifier(concurrency: processing.maxConcurrent) { classifier, name in
                    configuration.processor = processing.configuration(classifierName: name)
                    let (store, workers, shown) = (store, workers, self.store.displayURI)
                    let app = buildApplication(
                        configuration: configuration,
                        dependencies: ServerDependencies(store: store, classifier: classifier, httpClient: httpClient),
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

        static func list(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
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
