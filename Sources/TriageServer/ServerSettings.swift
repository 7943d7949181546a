import Foundation
import TriageCore

/// `triage serve`'s settings as one source states them: the flags, the environment, or the config file's `server`
/// section. ``ServerConfiguration/apply(flags:environment:file:)`` combines them by one rule: a single value comes
/// from the first source that says it (flags, then environment, then file); a list takes every source's entries.
public struct ServerSettings: Sendable, Decodable {
    /// Bearer tokens accepted by the API (`TRIAGE_API_KEYS`, `server.apiKeys`).
    public var apiKeys: [String]?
    /// Receivers of every run's end event (`TRIAGE_WEBHOOK_URLS`, `server.webhooks`).
    public var webhooks: [String]?
    /// Paths outside /v1 that need a key too, such as /metrics (`--protect`, `server.protect`).
    public var protect: [String]?
    /// Largest request body (`--max-body-bytes`, `server.maxBodyBytes`).
    public var maxBodyBytes: Int?
    /// Host names the server answers to besides IPs, localhost and --host (`--allowed-host`, `TRIAGE_ALLOWED_HOSTS`,
    /// `server.allowedHosts`).
    public var allowedHosts: [String]?
    /// Hosts a run's own webhook may name: exact or `*.domain` (`TRIAGE_WEBHOOK_HOSTS`, `server.webhookHosts`).
    public var webhookHosts: [String]?
    /// Let a run's webhook reach loopback and private addresses (`TRIAGE_WEBHOOK_ALLOW_PRIVATE=1`,
    /// `server.webhookAllowPrivate`).
    public var webhookAllowPrivate: Bool?
    /// API runs at once (`--max-runs`, `server.maxRuns`).
    public var maxRuns: Int?
    /// The webhook signing key (`TRIAGE_WEBHOOK_SECRET` only: a secret stays out of files and flags).
    public var webhookSecret: String?

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case apiKeys, webhooks, protect, maxBodyBytes, allowedHosts, webhookHosts, webhookAllowPrivate, maxRuns
    }

    /// What the environment says.
    public init(environment: [String: String]) {
        func list(_ name: String) -> [String]? {
            let items = (environment[name] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return items.isEmpty ? nil : items
        }
        apiKeys = list("TRIAGE_API_KEYS")
        webhooks = list("TRIAGE_WEBHOOK_URLS")
        allowedHosts = list("TRIAGE_ALLOWED_HOSTS")
        webhookHosts = list("TRIAGE_WEBHOOK_HOSTS")
        webhookAllowPrivate = environment["TRIAGE_WEBHOOK_ALLOW_PRIVATE"].map { $0 == "1" }
        webhookSecret = environment["TRIAGE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension ServerConfiguration {
    /// Sets what the sources say, by ``ServerSettings``' rule; what none says keeps its default.
    public mutating func apply(flags: ServerSettings, environment: ServerSettings, file: ServerSettings) {
        let sources = [flags, environment, file]
        func first<T>(_ path: KeyPath<ServerSettings, T?>) -> T? { sources.lazy.compactMap { $0[keyPath: path] }.first }
        func all(_ path: KeyPath<ServerSettings, [String]?>) -> [String] { sources.flatMap { $0[keyPath: path] ?? [] } }
        apiKeys = APIKeys(all(\.apiKeys))
        webhookURLs = all(\.webhooks)
        protectedPaths = Set(all(\.protect))
        allowedHosts = HostPatterns(all(\.allowedHosts))
        webhooks.allowedHosts = HostPatterns(all(\.webhookHosts))
        maxBodyBytes = first(\.maxBodyBytes) ?? maxBodyBytes
        maxActiveRuns = first(\.maxRuns) ?? maxActiveRuns
        webhooks.allowPrivateAddresses = first(\.webhookAllowPrivate) ?? webhooks.allowPrivateAddresses
        webhooks.secret = first(\.webhookSecret) ?? webhooks.secret
    }
}
