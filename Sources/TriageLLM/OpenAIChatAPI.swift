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

    var name: String { "chat-completions" }

    func reply(from response: JSONValue) throws -> ChatReply {
        guard let choices = response["choices"]?.arrayValue else {
            throw MalformedResponse(description: "the chat-completions response could not be read")
        }
        guard let choice = choices.first else {
            throw MalformedResponse(description: "the chat-completions response has no choices")
        }
        guard let message = choice["message"], case .object = message else {
            throw MalformedResponse(description: "the chat-completions response could not be read")
        }
        let usage = response["usage"]
        return ChatReply(
            content: message["content"]?.stringValue ?? message["refusal"]?.stringValue ?? "",
            promptTokens: usage?["prompt_tokens"]?.intValue ?? 0,
            completionTokens: usage?["completion_tokens"]?.intValue ?? 0,
            cachedPromptTokens: usage?["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
            model: response["model"]?.stringValue,
            tokens: choice["logprobs"]?["content"]?.arrayValue.map { tokens in
                tokens.compactMap { token in
                    guard let text = token["token"]?.stringValue, let logprob = token["logprob"]?.doubleValue else {
                        return nil
                    }
                    return TokenLogprob(token: text, logprob: logprob, alternatives: (token["top_logprobs"]?.arrayValue ?? [])
                        .compactMap { alternative in
                            guard let text = alternative["token"]?.stringValue,
                                  let logprob = alternative["logprob"]?.doubleValue else { return nil }
                            return TokenLogprob.Alternative(token: text, logprob: logprob)
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
