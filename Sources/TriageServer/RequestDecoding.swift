import Foundation
import Hummingbird
import NIOCore
import TriageCore

/// Reading request bodies: within the size limit (413 beyond it), as JSON, with errors that name the field (400);
/// an object that repeats a key is refused, never read with one value dropped.
enum RequestBody {
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw HTTPError(.contentTooLarge, message: "the request body is larger than the limit of \(limit) bytes")
        } catch is NIOTooManyBytesError {
            // What the collector throws; its own answer is a 413 with an empty body.
            throw HTTPError(.contentTooLarge, message: "the request body is larger than the limit of \(limit) bytes")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let data = Data(buffer: buffer)
        if case .duplicateKey(let key, let offset) = data.withUnsafeBytes({ JSONValue.parseInput($0) }) {
            throw HTTPError(.badRequest, message: "field '\(key)' appears twice in one object "
                            + "(\(JSONSyntax.position(of: offset, in: data))); which value is meant is unclear")
        }
        do {
            return try JSONDecoder.triage.decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw HTTPError(.badRequest, message: notJSON(data))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: error.readableDescription)
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError(.badRequest, message: notJSON(data))
        }
    }

    /// Why the body is not JSON, and where.
    static func notJSON(_ data: Data) -> String {
        if let offset = JSONSyntax.firstInvalidUTF8(in: data) {
            return "the body is not UTF-8 text (\(JSONSyntax.position(of: offset, in: data)))"
        }
        let problem = JSONSyntax.problem(in: data)
        return "the body is not valid JSON: \(problem.reason)"
            + (problem.offset.map { " at \(JSONSyntax.position(of: $0, in: data))" } ?? "")
    }
}

/// Reading query parameters.
enum RequestParameters {
    static func limit(_ text: String?, default value: Int, maximum: Int) throws -> Int {
        guard let text else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw HTTPError(.badRequest, message: "parameter 'limit' must be a whole number from 1 to \(maximum)")
        }
        return limit
    }
}

/// A JSON response with a chosen status.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    let value: Value

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.triage.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
