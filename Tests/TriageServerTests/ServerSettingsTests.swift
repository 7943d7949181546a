import Configuration
import Testing
import TriageCore
import TriageServer

/// `triage serve`'s settings read through a ``ConfigReader``: each key, its default, and errors naming the key.
@Suite("ServerConfiguration from settings")
struct ServerSettingsTests {
    func reader(_ values: [String: ConfigContent]) -> ConfigReader {
        ConfigReader(provider: InMemoryProvider(values: Dictionary(uniqueKeysWithValues: values.map {
            (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue($0.value, isSecret: false))
        })))
    }

    @Test("each server key sets its part; what no layer says keeps its default")
    func keys() throws {
        let configuration = try ServerConfiguration(config: reader([
            "server.host": .string("0.0.0.0"), "server.port": .int(9000), "server.workers": .bool(true),
            "server.graceSeconds": .int(3), "server.maxBodyBytes": .int(4096), "server.protect": .stringArray(["/metrics"]),
            "server.allowedHosts": .stringArray(["triage.example"]), "server.maxRuns": .int(2),
            "server.apiKeys": .stringArray(["k1", "k2"]), "server.webhooks": .stringArray(["https://hooks.example/x"]),
            "server.webhookHosts": .stringArray(["*.example"]), "server.webhookAllowPrivate": .bool(true),
            "server.webhookSecret": .string("s3cret"), "maxConcurrent": .int(6),
        ]))
        #expect(configuration.host == "0.0.0.0" && configuration.port == 9000 && configuration.workers)
        #expect(configuration.gracePeriod == .seconds(3) && configuration.maxBodyBytes == 4096)
        #expect(configuration.protectedPaths == ["/metrics"] && configuration.allowedHosts.matches("triage.example"))
        #expect(configuration.maxActiveRuns == 2 && configuration.apiKeys.description == "2 API keys")
        #expect(configuration.webhookURLs == ["https://hooks.example/x"] && configuration.webhooks.secret == "s3cret")
        #expect(configuration.webhooks.allowedHosts.matches("a.example") && configuration.webhooks.allowPrivateAddresses)
        #expect(configuration.processor.maxConcurrent == 6, "the processor's settings come from the same reader")

        let defaults = try ServerConfiguration(config: reader([:]))
        #expect(defaults.maxActiveRuns == 4 && defaults.apiKeys.isEmpty && defaults.webhooks.secret == nil)
        #expect(defaults.port == 8080 && defaults.host == "127.0.0.1" && !defaults.allowUnauthenticated)
    }

    @Test("a value out of range, or a protected path that names no route, is an error naming the key")
    func errors() {
        func error(_ values: [String: ConfigContent]) -> String? {
            do { _ = try ServerConfiguration(config: reader(values)); return nil } catch { return "\(error)" }
        }
        #expect(error(["server.port": .int(70_000)]) == "server.port: must be from 0 to 65535, not 70000")
        #expect(error(["server.maxRuns": .int(0)]) == "server.maxRuns: must be at least 1, not 0")
        #expect(error(["server.protect": .stringArray(["/v2"])])?.hasPrefix("server.protect: --protect /v2") == true)
        #expect(error(["maxConcurrent": .int(0)]) == "maxConcurrent: must be from 1 to 10000, not 0")
    }
}
