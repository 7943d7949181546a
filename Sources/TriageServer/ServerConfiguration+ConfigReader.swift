import Configuration
import TriageCore
import TriageProcessor

extension ServerConfiguration {
    /// `triage serve`'s settings as `config` gives them (flags over environment over the config file's `server`
    /// section over the defaults of ``init()``); the processor's from the same reader
    /// (``TriageProcessor/BatchProcessor/Configuration/init(config:)``). A list comes whole from one layer, like any
    /// other value.
    ///
    /// Keys: `server.host`, `server.port`, `server.workers`, `server.graceSeconds`, `server.maxBodyBytes`,
    /// `server.idleTimeoutSeconds`, `server.bodyTimeoutSeconds`, `server.webhookTimeoutSeconds`,
    /// `server.protect`, `server.allowedHosts`, `server.maxRuns`, `server.noAuth`, `server.apiKeys`,
    /// `server.webhooks`, `server.webhookHosts`, `server.webhookAllowPrivate`, `server.webhookSecret`.
    /// - Throws: ``ConfigurationError`` naming the key of a value out of range, or a protected path that names no
    ///   route.
    public init(config: ConfigReader) throws {
        self.init()
        processor = try BatchProcessor.Configuration(config: config)
        let server = config.scoped(to: "server")
        do {
            host = server.string(forKey: "host", default: host)
            port = try server.int("port", default: port, in: 0...65535)
            workers = server.bool(forKey: "workers", default: workers)
            gracePeriod = .seconds(try server.int("graceSeconds", default: Int(gracePeriod.timeInterval), in: 0...Int.max))
            maxBodyBytes = try server.int("maxBodyBytes", default: maxBodyBytes, in: 1...Int.max)
            idleTimeout = .milliseconds(try server.double("idleTimeoutSeconds", default: idleTimeout.timeInterval,
                                                          minimum: 0, exclusive: true) * 1000)
            bodyTimeout = .milliseconds(try server.double("bodyTimeoutSeconds", default: bodyTimeout.timeInterval,
                                                          minimum: 0, exclusive: true) * 1000)
            webhooks.timeout = .milliseconds(try server.double("webhookTimeoutSeconds",
                                                               default: webhooks.timeout.timeInterval,
                                                               minimum: 0, exclusive: true) * 1000)
            protectedPaths = Set(server.stringArray(forKey: "protect", default: []))
            allowedHosts = HostPatterns(server.stringArray(forKey: "allowedHosts", default: []))
            maxActiveRuns = try server.int("maxRuns", default: maxActiveRuns, in: 1...Int.max)
        } catch let error as ConfigurationError {
            throw ConfigurationError("server." + error.key, error.problem)
        }
        allowUnauthenticated = server.bool(forKey: "noAuth", default: allowUnauthenticated)
        apiKeys = APIKeys(server.stringArray(forKey: "apiKeys", isSecret: true, default: []).filter { !$0.isEmpty })
        webhookURLs = server.stringArray(forKey: "webhooks", default: []).filter { !$0.isEmpty }
        webhooks.allowedHosts = HostPatterns(server.stringArray(forKey: "webhookHosts", default: []))
        webhooks.allowPrivateAddresses = server.bool(forKey: "webhookAllowPrivate",
                                                     default: webhooks.allowPrivateAddresses)
        webhooks.secret = server.string(forKey: "webhookSecret", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        do {
            try validate()
        } catch let invalid as Invalid {
            throw ConfigurationError("server.protect", invalid.description)
        }
    }
}
