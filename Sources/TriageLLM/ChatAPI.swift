import Foundation
import TriageCore

/// One message of a conversation with the model.
struct ChatMessage: Sendable, Hashable {
    enum Role: String, Sendable {
        case user, assistant
    }

    var role: Role
    var content: String
}

/// What a provider answered, in the terms the classifier needs.
struct ChatReply: Sendable {
    /// The model's answer: its text, or a forced tool call's input as JSON.
    var content: String
    /// Every prompt token, those read from or written to the provider's prompt cache included.
    var promptTokens: Int
    var completionTokens: Int
    /// Of the prompt tokens, those read from the cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
    /// `cache_read_input_tokens`).
    var cachedPromptTokens = 0
    /// Of the prompt tokens, those written to the cache (Anthropic `cache_creation_input_tokens`).
    var cacheWriteTokens = 0
    var model: String?
    /// The answer's tokens with their log-probabilities, when the endpoint returned them.
    var tokens: [TokenLogprob]? = nil
}

/// The wire format of one provider family: how to ask, and how to read the answer.
protocol ChatAPI: Sendable {
    /// The URL to POST to.
    func endpoint(_ configuration: LLMConfiguration) -> String
    /// Headers carrying the credentials and API version.
    func headers(_ configuration: LLMConfiguration) -> [(String, String)]
    /// The request body.
    /// - Parameter logprobs: Ask for the answer's token log-probabilities, where the API has them.
    func body(system: String, messages: [ChatMessage], schema: JSONValue, mode: LLMConfiguration.OutputMode,
              logprobs: Bool, configuration: LLMConfiguration) throws -> Data
    /// Reads a successful response, parsed.
    /// - Throws: `MalformedResponse` if it is not the provider's format.
    func reply(from response: JSONValue) throws -> ChatReply
    /// The API's name in messages.
    var name: String { get }
}

extension ChatAPI {
    /// Reads a successful response body.
    /// - Throws: `MalformedResponse` if the body is not the provider's format.
    func reply(from body: Data) throws -> ChatReply {
        guard let response = try? JSONValue.decode(body) else {
            throw MalformedResponse(description: "the \(name) response could not be read")
        }
        return try reply(from: response)
    }
}

/// A successful HTTP response whose body is not what the provider's API returns.
struct MalformedResponse: Error, CustomStringConvertible {
    let description: String
}
