import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TriageCore

/// One provider's batch API: OpenAI's Batch API (files and batches) or Anthropic's Message Batches.
protocol ProviderBatchAPI: Sendable {
    /// Uploads the lines and starts the batch; returns the provider's id.
    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String
    /// See ``ProviderBatches/submitted(named:since:)``.
    func submitted(named name: String, since: Date) async throws -> String?
    func status(_ id: String) async throws -> ProviderBatchStatus
    /// Each line's result by `custom_id`; lines missing from the results are not in the answer.
    func results(_ status: ProviderBatchStatus) async throws -> [String: ProviderBatchLineResult]
    func cancel(_ id: String) async throws
}

/// The HTTP both batch APIs share: JSON in, JSON out, through the one ``ProviderTransport``.
struct BatchHTTP: Sendable {
    let transport: ProviderTransport
    let timeout: Duration
    let maxResponseBytes: Int

    func send(_ method: HTTPMethod, _ url: String, body: Data? = nil, contentType: String = "application/json")
        async throws -> Data {
        do {
            return try await transport.send(method, url, body: body, contentType: contentType, timeout: timeout,
                                            maxResponseBytes: maxResponseBytes)
        } catch let failure as ProviderTransport.Failure {
            throw failure.error
        }
    }

    func json(_ method: HTTPMethod, _ url: String, body: JSONValue? = nil) async throws -> JSONValue {
        let data = try await send(method, url, body: try body?.encoded())
        do {
            return try JSONValue.decode(data)
        } catch {
            throw ClassifierError.server("the batch API's answer from \(transport.host) is not JSON")
        }
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

    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String {
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
        guard let fileId = uploaded["id"]?.stringValue else {
            throw ClassifierError.server("the file upload returned no id")
        }
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
                let code = response?["status_code"]?.intValue
                switch (code, line["error"]?["code"]?.stringValue) {
                case (let code?, _) where (200..<300).contains(code):
                    results[customId] = response?["body"].map(ProviderBatchLineResult.succeeded)
                        ?? .failed(.server("a line answered \(code) without a body"))
                case (_, "batch_expired"):
                    results[customId] = .expired
                case (_, "batch_cancelled"):
                    results[customId] = .cancelled
                case (let code?, _):
                    // The line's own HTTP answer: the same table as an online request's.
                    results[customId] = .failed(http.transport.lineError(status: code, body: response?["body"]))
                case (nil, let errorCode):
                    let invalid = errorCode?.contains("invalid") == true
                    results[customId] = .failed(http.transport.lineError(status: invalid ? 400 : 500,
                                                                         body: .object(["error": line["error"] ?? .null])))
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

    func submit(_ lines: [ProviderBatchLine], metadata: [String: String]) async throws -> String {
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
        guard let batch = try? JSONValue.decode(answer) else {
            throw ClassifierError.server("the batch API's answer is not JSON")
        }
        guard let id = batch["id"]?.stringValue else {
            throw ClassifierError.server("the batch was created without an id")
        }
        return id
    }

    /// Anthropic's batches keep no metadata: nothing tells this run's batch from another's of the same size.
    func submitted(named name: String, since: Date) async throws -> String? { nil }

    func status(_ id: String) async throws -> ProviderBatchStatus {
        let batch = try await http.json(.GET, batchesURL + "/\(id)")
        let counts = batch["request_counts"]
        let succeeded = counts?["succeeded"]?.intValue ?? 0
        let failed = ["errored", "canceled", "expired"].map { counts?[$0]?.intValue ?? 0 }.reduce(0, +)
        // An ended batch someone asked to cancel is a cancelled one: its unanswered lines come back `canceled`.
        let cancelAsked = batch["cancel_initiated_at"].map { $0 != .null } ?? false
        let state: ProviderBatch.State = switch batch["processing_status"]?.stringValue ?? "" {
        case "ended": cancelAsked ? .cancelled : .completed
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
                // `errored`: Anthropic names the error's type, which stands for the status an online request gets.
                let error = result["error"]?["error"] ?? result["error"]
                results[customId] = .failed(http.transport.lineError(status: Self.status(ofErrorType:
                    error?["type"]?.stringValue), body: .object(["error": error ?? .null])))
            }
        }
        return results
    }

    func cancel(_ id: String) async throws {
        _ = try await http.json(.POST, batchesURL + "/\(id)/cancel")
    }

    /// The HTTP status an online request gets for each of Anthropic's error types.
    static func status(ofErrorType type: String?) -> Int {
        switch type {
        case "invalid_request_error": 400
        case "authentication_error": 401
        case "permission_error": 403
        case "not_found_error": 404
        case "request_too_large": 413
        case "rate_limit_error": 429
        case "overloaded_error": 529
        default: 500
        }
    }
}

