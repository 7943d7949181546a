import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TriageCore

/// The one way Triage's requests reach a provider over HTTP — chat completions, messages, and both batch APIs: it
/// sends with the endpoint's credentials and a deadline, collects the answer up to a size, and turns every other
/// outcome into a ``ClassifierError`` by one table (``error(status:message:)``), with the API key masked out of every
/// message.
struct ProviderTransport: Sendable {
    let client: HTTPClient
    let configuration: LLMConfiguration
    /// The provider's authentication headers, and the configured extra ones.
    let headers: [(String, String)]

    /// Why a request produced no usable answer.
    struct Failure: Error, Sendable {
        var error: ClassifierError
        /// How long the provider asked us to wait (`Retry-After`), when it said.
        var retryAfter: Duration?
        /// The provider's own message (masked), for callers that act on what it says (a missing feature, say).
        var providerMessage: String = ""
    }

    /// Sends one request and returns the body of a 2xx answer.
    /// - Throws: ``Failure`` for any other answer or none (`CancellationError` when the task is cancelled).
    func send(_ method: HTTPMethod, _ url: String, body: Data? = nil, contentType: String = "application/json",
              timeout: Duration, maxResponseBytes: Int) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let responseHeaders: HTTPHeaders
        let data: Data
        do {
            // One deadline for connecting, the headers and the whole body: a peer that trickles its answer gets no
            // more time than one that sends nothing.
            let (client, request) = (client, request)
            (status, responseHeaders, data) = try await withTimeout(timeout) {
                let response = try await client.execute(request, timeout: TimeAmount(timeout))
                return (Int(response.status.code), response.headers,
                        Data(buffer: try await response.body.collect(upTo: maxResponseBytes)))
            }
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw Failure(error: .timeout("no answer within \(timeout) from \(host)"))
        } catch is DeadlineExceeded {
            throw Failure(error: .timeout("no answer within \(timeout) from \(host)"))
        } catch is NIOTooManyBytesError {
            throw Failure(error: .server("the response from \(host) was larger than \(maxResponseBytes) bytes"))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Failure(error: .connection("request to \(host) failed: \(mask(String(describing: error)))"))
        }
        guard !(200..<300).contains(status) else { return data }
        let message = providerMessage(data)
        throw Failure(error: error(status: status, message: message) ?? .server("HTTP \(status) from \(host)"),
                      retryAfter: RetryAfter.delay(from: responseHeaders.map { ($0.name, $0.value) }),
                      providerMessage: message)
    }

    /// The error an HTTP status makes, for every path to the provider alike (`nil` for success):
    ///
    /// | status | error | scope |
    /// |---|---|---|
    /// | 429 | `rateLimited` | attempt: retried after `Retry-After` |
    /// | 408, 409, 425, 5xx | `server` | attempt |
    /// | 401, 403 | `unauthorized` | run: stop, backlog untouched |
    /// | 404 | `configuration` (unknown model or wrong endpoint) | run |
    /// | other 4xx saying the model does not exist | `configuration` | run |
    /// | other 4xx | `rejected` | query: failed, retrying cannot help |
    func error(status: Int, message: String) -> ClassifierError? {
        switch status {
        case 200..<300:
            return nil
        case 429:
            return .rateLimited("HTTP 429 from \(host): \(message)")
        case 408, 409, 425, 500..<600:
            return .server("HTTP \(status) from \(host): \(message)")
        case 401, 403:
            return .unauthorized("HTTP \(status) from \(host): the API key was refused (\(message))")
        case 404:
            return .configuration("HTTP 404 from \(host): unknown model '\(configuration.model)' or wrong endpoint "
                                  + "(\(message))")
        default:
            let text = message.lowercased()
            if text.contains("model") && text.contains("not") {
                return .configuration("HTTP \(status) from \(host): \(message)")
            }
            return .rejected("HTTP \(status) from \(host): \(message)")
        }
    }

    /// The error a batch line's own HTTP status and body make: the same table as a request's.
    func lineError(status: Int, body: JSONValue?) -> ClassifierError {
        let message = mask(Self.message(in: body) ?? "HTTP \(status)")
        return error(status: status, message: message) ?? .server("the line answered \(status) without a body")
    }

    /// The provider's error message (`{"error": {"message": …}}` and its variants), or the start of the body;
    /// the key masked.
    func providerMessage(_ data: Data) -> String {
        let message = Self.message(in: try? JSONValue.decode(data)) ?? String(decoding: data.prefix(300), as: UTF8.self)
        return mask(message.isEmpty ? "(empty body)" : message)
    }

    static func message(in body: JSONValue?) -> String? {
        body?["error"]?["message"]?.stringValue ?? body?["error"]?["error"]?["message"]?.stringValue
            ?? body?["error"]?.stringValue ?? body?["message"]?.stringValue
    }

    /// What may be quoted of a provider's (or its proxies') words in our errors, which reach API responses, run
    /// records and logs: the first line, at most 300 characters, with the API key masked whole, in part or
    /// encoded, every long token that could be a credential (`sk-…****wxyz`, base64, JWTs) replaced, and every
    /// host name but the endpoint's own hidden. Stack traces and upstream topology stay upstream.
    func mask(_ text: String) -> String {
        var line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        if let key = configuration.apiKey, key.count >= 4 {
            for form in [key, Data(key.utf8).base64EncodedString(), Data("Bearer \(key)".utf8).base64EncodedString()] {
                line = line.replacingOccurrences(of: form, with: "***")
            }
        }
        let endpoint = Self.host(of: configuration.baseURL).lowercased()
        line = line.replacing(/[A-Za-z0-9_+\/=*.\-]{16,}/) { match in
            // A credential mixes letters with several digits, or shows its masking; a path (`/v1/chat/completions`)
            // or a model name does not.
            let token = String(match.output)
            let digits = token.count(where: \.isNumber)
            let secretLike = token.contains("*") || (token.contains(where: \.isLetter) && digits >= 3)
            return secretLike && !token.lowercased().hasPrefix(endpoint) ? "[redacted]" : token
        }
        line = line.replacing(/(?i)\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d+)?\b/) { match in
            let name = String(match.output).lowercased()
            return name == endpoint || endpoint.hasPrefix(name + ":") ? String(match.output) : "(a host)"
        }
        if let key = configuration.apiKey, key.count >= 8 {
            // What is left of the key in part (a proxy's "sk-abc…wxyz"): any 8 characters of it.
            let characters = Array(key)
            for start in 0...(characters.count - 8) {
                line = line.replacingOccurrences(of: String(characters[start..<start + 8]), with: "***")
            }
        }
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }

    /// The endpoint's host and port, for messages (never its credentials).
    var host: String { Self.host(of: configuration.baseURL) }

    static func host(of url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return "the LLM endpoint" }
        return parsed.port.map { "\(host):\($0)" } ?? host
    }
}
