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

    var name: String { "Messages API" }

    func reply(from response: JSONValue) throws -> ChatReply {
        guard let blocks = response["content"]?.arrayValue else {
            throw MalformedResponse(description: "the Messages API response could not be read")
        }
        let content: String
        if let tool = blocks.first(where: { $0["type"]?.stringValue == "tool_use" }), let input = tool["input"] {
            content = String(decoding: try input.encoded(), as: UTF8.self)
        } else {
            content = blocks.compactMap { $0["text"]?.stringValue }.joined()
        }
        let usage = response["usage"]
        let cacheRead = usage?["cache_read_input_tokens"]?.intValue ?? 0
        let cacheWrite = usage?["cache_creation_input_tokens"]?.intValue ?? 0
        return ChatReply(
            // `input_tokens` are the prompt tokens neither read from nor written to the cache.
            content: content,
            promptTokens: (usage?["input_tokens"]?.intValue ?? 0) + cacheRead + cacheWrite,
            completionTokens: usage?["output_tokens"]?.intValue ?? 0,
            cachedPromptTokens: cacheRead,
            cacheWriteTokens: cacheWrite,
            model: response["model"]?.stringValue
        )
    }
}
