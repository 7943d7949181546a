import Foundation
import TriageCore

extension LLMClassifier {
    /// The provider's batch API for this classifier's requests: the same endpoint, credentials and request bodies,
    /// through the same transport, at the batch price.
    public var batches: (any ProviderBatches)? {
        let http = BatchHTTP(transport: transport, timeout: max(configuration.requestTimeout, .seconds(120)),
                             maxResponseBytes: 512 * 1024 * 1024)
        let baseURL = configuration.baseURL.trimmingSuffix("/")
        let api: any ProviderBatchAPI = switch configuration.provider {
        case .openAI: OpenAIBatchAPI(http: http, baseURL: baseURL)
        case .anthropic: AnthropicBatchAPI(http: http, baseURL: baseURL)
        }
        return LLMProviderBatches(classifier: self, api: api)
    }
}

/// ``ProviderBatches`` for an ``LLMClassifier``: its requests as batch lines, its validation for the answers.
struct LLMProviderBatches: ProviderBatches {
    let classifier: LLMClassifier
    let api: any ProviderBatchAPI

    var provider: String { classifier.configuration.provider.rawValue }
    var endpoint: String { classifier.configuration.baseURL }
    var model: String { classifier.configuration.model }
    var maxRequests: Int { classifier.configuration.provider == .openAI ? 50_000 : 100_000 }
    var maxBytes: Int { classifier.configuration.provider == .openAI ? 200_000_000 : 256_000_000 }

    func requestBody(for query: SupportQuery) throws -> Data {
        try classifier.requestBody(for: query)
    }

    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String {
        try await api.submit(lines, metadata: metadata)
    }

    func submitted(named name: String, since: Date) async throws -> String? {
        try await api.submitted(named: name, since: since)
    }

    func status(_ providerBatchId: String) async throws -> ProviderBatchStatus {
        try await api.status(providerBatchId)
    }

    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult] {
        try await api.results(status)
    }

    func classification(from response: JSONValue, for query: SupportQuery) throws -> Classification {
        try classifier.batchClassification(from: response, for: query)
    }

    func cancel(_ providerBatchId: String) async throws {
        try await api.cancel(providerBatchId)
    }
}
