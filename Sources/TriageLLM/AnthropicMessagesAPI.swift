import Foundation
import TriageCore

/// Anthropic's Messages API. Structured output comes through a forced tool call whose input schema is the
/// classification schema; with `instructions` mode the model answers in text.
struct AnthropicMessagesAPI: ChatAPI {
    static let toolName = "record_classification"

    func endpoint(_ configuration: LLMConfiguration) -> String {
        configuration.baseURL.trimmingSuffix("/") + "/v1/messages"
    }

    func headers(_ configuration: LLMConfiguration) -> [(String, String)] {
        var headers = [("anthropic-version", configuration.anthropicVersion)]
        if let key = configuration.apiKey, !key.isEmpty { headers.append(("x-api-key", key)) }
        return headers
    }

    /// The Messages API returns no log-probabilities; `logprobs` is ignored.
    func body(system: String, messages: [ChatMessage], schema: JSONValue, mode: LLMConfiguration.OutputMode,
              logprobs: Bool, configuration: LLMConfiguration) throws -> Data {
        var body: [String: JSONValue] = [
            "model": .string(configuration.model),
            "temperature": .number(configuration.temperature),
            "max_tokens": .integer(configuration.maxOutputTokens),
            // The stable part of every request (the tool's schema, then the system prompt) is cached by the
            // provider: later requests read it at a tenth of the price. Shorter than the model's minimum, it is not.
            "system": .array([.object(["type": "text", "text": .string(system),
                                       "cache_control": .object(["type": "ephemeral"])])]),
            "messages": .array(messages.map { .object(["role": .string($0.role.rawValue), "content": .string($0.content)]) }),
        ]
        if mode != .instructions {
            body["tools"] = .array([.object([
                "name": .string(Self.toolName),
                "description": "Record the classification of the customer-support query.",
                "input_schema": schema,
            ])])
            body["tool_choice"] = .object(["type": "tool", "name": .string(Self.toolName)])
        }
        return try JSONValue.object(body).encoded()
    }

    private struct Response: Decodable {
        struct Block: Decodable {
            var type: String
            var text: String?
            var input: JSONValue?
        }

        struct Usage: Decodable {
            /// The prompt tokens neither read from nor written to the cache.
            var input_tokens: Int?
            var output_tokens: Int?
            var cache_read_input_tokens: Int?
            var cache_creation_input_tokens: Int?
        }

        var content: [Block]
        var usage: Usage?
        var model: String?
    }

    func reply(from body: Data) throws -> ChatReply {
        let response = try decodeEnvelope(Response.self, from: body, api: "Messages API")
        let content: String
        if let tool = response.content.first(where: { $0.type == "tool_use" }), let input = tool.input {
            content = String(decoding: try input.encoded(), as: UTF8.self)
        } else {
            content = response.content.compactMap(\.text).joined()
        }
        return ChatReply(
            content: content,
            promptTokens: (response.usage?.input_tokens ?? 0) + (response.usage?.cache_read_input_tokens ?? 0)
                + (response.usage?.cache_creation_input_tokens ?? 0),
            completionTokens: response.usage?.output_tokens ?? 0,
            cachedPromptTokens: response.usage?.cache_read_input_tokens ?? 0,
            cacheWriteTokens: response.usage?.cache_creation_input_tokens ?? 0,
            model: response.model
        )
    }
}
