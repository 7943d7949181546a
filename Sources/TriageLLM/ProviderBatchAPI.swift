import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TriageCore

/// What a provider's batch API said about one batch.
public struct ProviderBatchStatus: Sendable {
    public var state: ProviderBatch.State
    public var counts: ProviderBatch.Counts
    /// Where the results are read from, once the batch ended: an output and an error file (OpenAI), or a results URL
    /// (Anthropic).
    var outputFileId: String?
    var errorFileId: String?
    var resultsURL: String?
}

/// How one line of a batch ended.
public enum ProviderBatchLineResult: Sendable {
    /// The provider's response, as an online request would have received it.
    case succeeded(JSONValue)
    /// The provider refused or failed the request.
    case errored(String)
    /// The batch ended before the line was done.
    case expired
    case cancelled
}

/// One provider's batch API: OpenAI's Batch API (files and batches) or Anthropic's Message Batches.
protocol ProviderBatchAPI: Sendable {
    /// Uploads the lines and starts the batch; returns the provider's id. `metadata` names the batch and the run
    /// where the API keeps metadata.
    /// - Parameter lines: Each line's `custom_id` and request body (JSON, as the online path sends it).
    func submit(_ lines: [(customId: String, body: Data)], metadata: [String: String]) async throws -> String
    /// The provider's id of a batch submitted with `metadata["triage_batch"] == name` no earlier than `since`, if the
    /// provider lists one: a run that stopped between starting a batch and recording its id finds it here instead
    /// of paying for it again. `nil` where the API keeps no metadata to tell batches apart.
    func submitted(named name: String, since: Date) async throws -> String?
    func status(_ id: String) async throws -> ProviderBatchStatus
    /// Each line's result by `custom_id`; lines missing from the results are not in the answer.
    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult]
    func cancel(_ id: String) async throws
}

/// The HTTP both batch APIs share: JSON in, JSON out, errors as ``ClassifierError``s with the provider's message
/// and never the key.
struct BatchHTTP: Sendable {
    let client: HTTPClient
    let headers: [(String, String)]
    let timeout: Duration
    let maxResponseBytes: Int

    func send(_ method: HTTPMethod, _ url: String, body: Data? = nil, contentType: String = "application/json")
        async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let data: Data
        do {
            response = try await client.execute(request, timeout: TimeAmount(timeout))
            data = Data(buffer: try await response.body.collect(upTo: maxResponseBytes))
        } catch {
            throw ClassifierError.connection("batch API request to \(Self.host(url)) failed: \(error)")
        }
        switch response.status.code {
        case 200..<300: return data
        case 401, 403: throw ClassifierError.unauthorized("HTTP \(response.status.code) from the batch API: the API key was refused")
        case 429, 500..<600: throw ClassifierError.server("HTTP \(response.status.code) from the batch API: \(Self.message(data))")
        default: throw ClassifierError.rejected("HTTP \(response.status.code) from the batch API: \(Self.message(data))")
        }
    }

    func json(_ method: HTTPMethod, _ url: String, body: JSONValue? = nil) async throws -> JSONValue {
        let data = try await send(method, url, body: try body?.encoded())
        do {
            return try JSONValue.decode(data)
        } catch {
            throw ClassifierError.server("the batch API's answer is not JSON")
        }
    }

    static func message(_ data: Data) -> String {
        let value = try? JSONValue.decode(data)
        return value?["error"]?["message"]?.stringValue ?? String(decoding: data.prefix(300), as: UTF8.self)
    }

    static func host(_ url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return "the LLM endpoint" }
        return parsed.port.map { "\(host):\($0)" } ?? host
    }

    /// The lines of a JSONL body, each parsed.
    static func lines(_ data: Data) async -> [JSONValue] {
        // Found in one pass, parsed on every core: a 50,000-line file is tens of megabytes of JSON.
        let lines = data.withUnsafeBytes { bytes in
            bytes.split(separator: UInt8(ascii: "\n")).map { $0.startIndex..<$0.endIndex }
        }
        return await lines.concurrentMap { line in
            data.withUnsafeBytes { JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0[line])) }
        }.compactMap { $0 }
    }
}

extension Data {
    /// `prefix` followed by these bytes.
    fileprivate func withPrefix(_ prefix: String) -> Data {
        var data = Data(prefix.utf8)
        data.append(self)
        return data
    }
}

/// OpenAI's Batch API: the lines go up as a JSONL file (`purpose=batch`), a batch runs them against
/// `/v1/chat/completions` within 24 hours, and its output and error files hold the answers.
struct OpenAIBatchAPI: ProviderBatchAPI {
    let http: BatchHTTP
    /// `…/v1`, as for chat completions.
    let baseURL: String

    func submit(_ lines: [(customId: String, body: Data)], metadata: [String: String]) async throws -> String {
        var file = Data()
        for line in lines {
            // The body goes in as it is, already JSON: no second encoding of every request.
            file.append(try JSONValue.string(line.customId).encoded().withPrefix(#"{"custom_id":"#))
            file.append(Data(#","method":"POST","url":"/v1/chat/completions","body":"#.utf8))
            file.append(line.body)
            file.append(Data("}\n".utf8))
        }
        let boundary = "triage-\(UUID().uuidString)"
        var form = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8)
        form.append(Data(("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"triage.jsonl\"\r\n"
                          + "Content-Type: application/jsonl\r\n\r\n").utf8))
        form.append(file)
        form.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let uploaded = try JSONValue.decode(try await http.send(.POST, baseURL + "/files", body: form,
                                                                contentType: "multipart/form-data; boundary=\(boundary)"))
        guard let fileId = uploaded["id"]?.stringValue else { throw ClassifierError.server("the file upload returned no id") }
        let batch = try await http.json(.POST, baseURL + "/batches", body: .object([
            "input_file_id": .string(fileId), "endpoint": "/v1/chat/completions", "completion_window": "24h",
            "metadata": .object(metadata.mapValues(JSONValue.string)),
        ]))
        guard let id = batch["id"]?.stringValue else { throw ClassifierError.server("the batch was created without an id") }
        return id
    }

    func submitted(named name: String, since: Date) async throws -> String? {
        // Newest first; the pages stop at batches created before this one was recorded (with a few minutes for the
        // two clocks), and at fifty pages.
        let oldest = since.timeIntervalSince1970 - 300
        var after: String?
        for _ in 0..<50 {
            let page = try await http.json(.GET, baseURL + "/batches?limit=100" + (after.map { "&after=\($0)" } ?? ""))
            let batches = page["data"]?.arrayValue ?? []
            if let found = batches.first(where: { $0["metadata"]?["triage_batch"]?.stringValue == name }) {
                return found["id"]?.stringValue
            }
            guard page["has_more"] == .bool(true), let last = batches.last?["id"]?.stringValue,
                  batches.allSatisfy({ ($0["created_at"]?.doubleValue ?? 0) >= oldest }) else { return nil }
            after = last
        }
        return nil
    }

    func status(_ id: String) async throws -> ProviderBatchStatus {
        let batch = try await http.json(.GET, baseURL + "/batches/\(id)")
        let state: ProviderBatch.State = switch batch["status"]?.stringValue ?? "" {
        case "validating": .validating
        case "in_progress": .inProgress
        case "finalizing": .finalizing
        case "completed": .completed
        case "expired": .expired
        case "cancelling": .cancelling
        case "cancelled": .cancelled
        case "failed": .failed
        default: .inProgress
        }
        let counts = batch["request_counts"]
        return ProviderBatchStatus(
            state: state,
            counts: ProviderBatch.Counts(total: counts?["total"]?.intValue ?? 0,
                                         succeeded: counts?["completed"]?.intValue ?? 0,
                                         failed: counts?["failed"]?.intValue ?? 0),
            outputFileId: batch["output_file_id"]?.stringValue, errorFileId: batch["error_file_id"]?.stringValue)
    }

    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult] {
        var results: [String: ProviderBatchLineResult] = [:]
        for fileId in [status.outputFileId, status.errorFileId].compactMap({ $0 }) {
            for line in await BatchHTTP.lines(try await http.send(.GET, baseURL + "/files/\(fileId)/content")) {
                guard let customId = line["custom_id"]?.stringValue else { continue }
                let response = line["response"]
                if let code = response?["status_code"]?.intValue, (200..<300).contains(code),
                   let body = response?["body"] {
                    results[customId] = .succeeded(body)
                } else if line["error"]?["code"]?.stringValue == "batch_expired" {
                    results[customId] = .expired
                } else if line["error"]?["code"]?.stringValue == "batch_cancelled" {
                    results[customId] = .cancelled
                } else {
                    let message = line["error"]?["message"]?.stringValue
                        ?? response?["body"]?["error"]?["message"]?.stringValue
                        ?? "HTTP \(response?["status_code"]?.intValue ?? 0)"
                    results[customId] = .errored(message)
                }
            }
        }
        return results
    }

    func cancel(_ id: String) async throws {
        _ = try await http.json(.POST, baseURL + "/batches/\(id)/cancel")
    }
}

/// Anthropic's Message Batches: the requests go in one call, the batch ends within 24 hours, and its results are
/// one JSONL file (`succeeded`, `errored`, `canceled`, `expired`).
struct AnthropicBatchAPI: ProviderBatchAPI {
    let http: BatchHTTP
    /// The host, as for messages.
    let baseURL: String

    private var batchesURL: String { baseURL + "/v1/messages/batches" }

    func submit(_ lines: [(customId: String, body: Data)], metadata: [String: String]) async throws -> String {
        var requests = Data(#"{"requests":["#.utf8)
        for (index, line) in lines.enumerated() {
            if index > 0 { requests.append(UInt8(ascii: ",")) }
            requests.append(try JSONValue.string(line.customId).encoded().withPrefix(#"{"custom_id":"#))
            requests.append(Data(#","params":"#.utf8))
            requests.append(line.body)
            requests.append(UInt8(ascii: "}"))
        }
        requests.append(Data("]}".utf8))
        let answer = try await http.send(.POST, batchesURL, body: requests)
        guard let batch = try? JSONValue.decode(answer) else { throw ClassifierError.server("the batch API's answer is not JSON") }
        guard let id = batch["id"]?.stringValue else { throw ClassifierError.server("the batch was created without an id") }
        return id
    }

    /// Anthropic's batches keep no metadata: nothing tells this run's batch from another's of the same size.
    func submitted(named name: String, since: Date) async throws -> String? { nil }

    func status(_ id: String) async throws -> ProviderBatchStatus {
        let batch = try await http.json(.GET, batchesURL + "/\(id)")
        let counts = batch["request_counts"]
        let succeeded = counts?["succeeded"]?.intValue ?? 0
        let failed = ["errored", "canceled", "expired"].map { counts?[$0]?.intValue ?? 0 }.reduce(0, +)
        let state: ProviderBatch.State = switch batch["processing_status"]?.stringValue ?? "" {
        case "ended": .completed
        case "canceling": .cancelling
        default: .inProgress
        }
        return ProviderBatchStatus(
            state: state,
            counts: ProviderBatch.Counts(total: succeeded + failed + (counts?["processing"]?.intValue ?? 0),
                                         succeeded: succeeded, failed: failed),
            resultsURL: batch["results_url"]?.stringValue)
    }

    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult] {
        guard let url = status.resultsURL else { return [:] }
        var results: [String: ProviderBatchLineResult] = [:]
        for line in await BatchHTTP.lines(try await http.send(.GET, url)) {
            guard let customId = line["custom_id"]?.stringValue, let result = line["result"] else { continue }
            switch result["type"]?.stringValue {
            case "succeeded":
                results[customId] = .succeeded(result["message"] ?? .null)
            case "expired":
                results[customId] = .expired
            case "canceled":
                results[customId] = .cancelled
            default:
                results[customId] = .errored(result["error"]?["error"]?["message"]?.stringValue
                                             ?? result["error"]?["message"]?.stringValue ?? "errored")
            }
        }
        return results
    }

    func cancel(_ id: String) async throws {
        _ = try await http.json(.POST, batchesURL + "/\(id)/cancel")
    }
}

extension LLMClassifier {
    /// The batch API of the classifier's provider, at its endpoint, with its credentials.
    var batchAPI: any ProviderBatchAPI {
        let (client, headers) = transport
        let http = BatchHTTP(client: client, headers: headers, timeout: max(configuration.requestTimeout, .seconds(120)),
                             maxResponseBytes: 512 * 1024 * 1024)
        return switch configuration.provider {
        case .openAI: OpenAIBatchAPI(http: http, baseURL: configuration.baseURL.trimmingSuffix("/"))
        case .anthropic: AnthropicBatchAPI(http: http, baseURL: configuration.baseURL.trimmingSuffix("/"))
        }
    }
}
