import Foundation
import TriageCore

/// OpenAI's chat-completions API, as OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp's server and LM Studio speak it.
struct OpenAIChatAPI: ChatAPI {
    func endpoint(_ configuration: LLMConfiguration) -> String {
        var url = configuration.baseURL.trimmingSuffix("/") + "/chat/completions"
        if let version = configuration.azureAPIVersion {
            url += "?api-version=" + (version.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? version)
        }
        return url
    }

    func headers(_ configuration: LLMConfiguration) -> [(String, String)] {
        guard let key = configuration.apiKey, !key.isEmpty else { return [] }
        return configuration.azureAPIVersion != nil ? [("api-key", key)] : [("Authorization", "Bearer \(key)")]
    }

    func body(system: String, messages: [ChatMessage], schema: JSONValue, mode: LLMConfiguration.OutputMode,
              logprobs: Bool, configuration: LLMConfiguration) throws -> Data {
        var body: [String: JSONValue] = [
            "model": .string(configuration.model),
            "temperature": .number(configuration.temperature),
            "max_tokens": .integer(configuration.maxOutputTokens),
            "messages": .array([.object(["role": "system", "content": .string(system)])]
                + messages.map { .object(["role": .string($0.role.rawValue), "content": .string($0.content)]) }),
        ]
        if logprobs {
            body["logprobs"] = .bool(true)
            body["top_logprobs"] = .integer(LLMConfiguration.topLogprobs)
        }
        switch mode {
        case .jsonSchema:
            body["response_format"] = .object([
                "type": "json_schema",
                "json_schema": .object(["name": "classification", "strict": .bool(true), "schema": schema]),
            ])
        case .jsonObject:
            body["response_format"] = .object(["type": "json_object"])
        case .instructions:
            break
        }
        return try JSONValue.object(body).encoded()
    }

    private struct Response: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                var content: String?
                var refusal: String?
            }

            struct Logprobs: Decodable {
                struct Token: Decodable {
                    struct Alternative: Decodable {
                        var token: String
                        var logprob: Double
                    }

                    var token: String
                    var logprob: Double
                    var top_logprobs: [Alternative]?
                }

                var content: [Token]?
            }

            var message: Message
            var logprobs: Logprobs?
        }

        struct Usage: Decodable {
            struct PromptDetails: Decodable {
                var cached_tokens: Int?
            }

            var prompt_tokens: Int?
            var completion_tokens: Int?
            var prompt_tokens_details: PromptDetails?
        }

        var choices: [Choice]
        var usage: Usage?
        var model: String?
    }

    func reply(from body: Data) throws -> ChatReply {
        let response = try decodeEnvelope(Response.self, from: body, api: "chat-completions")
        guard let choice = response.choices.first else {
            throw MalformedResponse(description: "the chat-completions response has no choices")
        }
        let message = choice.message
        return ChatReply(
            content: message.content ?? message.refusal ?? "",
            promptTokens: response.usage?.prompt_tokens ?? 0,
            completionTokens: response.usage?.completion_tokens ?? 0,
            cachedPromptTokens: response.usage?.prompt_tokens_details?.cached_tokens ?? 0,
            model: response.model,
            tokens: choice.logprobs?.content.map { tokens in
                tokens.map { token in
                    TokenLogprob(token: token.token, logprob: token.logprob, alternatives: (token.top_logprobs ?? []).map {
                        TokenLogprob.Alternative(token: $0.token, logprob: $0.logprob)
                    })
                }
            }
        )
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var result = self
        while result.hasSuffix(suffix) { result.removeLast(suffix.count) }
        return result
    }
}
