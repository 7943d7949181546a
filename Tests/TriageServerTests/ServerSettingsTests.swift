import Testing
import TriageServer

@Suite("ServerSettings")
struct ServerSettingsTests {
    @Test("a single value comes from the first source that says it; a list takes every source's entries")
    func precedence() {
        var flags = ServerSettings()
        flags.maxRuns = 2
        flags.allowedHosts = ["flag.example"]
        let environment = ServerSettings(environment: [
            "TRIAGE_API_KEYS": "k1, k2", "TRIAGE_ALLOWED_HOSTS": "env.example", "TRIAGE_WEBHOOK_ALLOW_PRIVATE": "0",
            "TRIAGE_WEBHOOK_SECRET": "s3cret",
        ])
        var file = ServerSettings()
        file.maxRuns = 7
        file.maxBodyBytes = 4096
        file.apiKeys = ["k3"]
        file.webhookAllowPrivate = true
        var configuration = ServerConfiguration()
        configuration.apply(flags: flags, environment: environment, file: file)
        #expect(configuration.maxActiveRuns == 2, "the flag wins")
        #expect(configuration.maxBodyBytes == 4096, "only the file says it")
        #expect(configuration.webhooks.allowPrivateAddresses == false, "the environment wins over the file")
        #expect(configuration.webhooks.secret == "s3cret")
        #expect(["k1", "k2", "k3"].allSatisfy(configuration.apiKeys.accepts) && configuration.apiKeys.description == "3 API keys")
        #expect(configuration.allowedHosts.matches("flag.example") && configuration.allowedHosts.matches("env.example"))

        var defaults = ServerConfiguration()
        defaults.apply(flags: ServerSettings(), environment: ServerSettings(environment: [:]), file: ServerSettings())
        #expect(defaults.maxActiveRuns == 4 && defaults.apiKeys.isEmpty && defaults.webhooks.secret == nil)
    }
}
