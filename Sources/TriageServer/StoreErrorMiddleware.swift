import Hummingbird
import Logging
import TriageCore

/// Turns a ``StoreError`` from a `/v1` route into the answer its kind deserves, with the error's message as the
/// documented JSON error: not found 404, a lost lease 409, invalid input 400, an unreachable store 503 with
/// `Retry-After`; anything else 500, logged with its cause (the message says only that the store failed). Any other
/// error a handler did not turn into an answer is a 500 with the JSON error too, its cause logged.
struct StoreErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            throw Self.httpError(error, logger: logger, path: request.uri.path)
        } catch let error where !(error is any HTTPResponseError) && !(error is CancellationError) {
            // A driver's own error, or anything else no handler expected: the documented JSON error, the cause
            // logged for the operator, never sent.
            logger.error("a request failed", metadata: ["http.path": "\(request.uri.path)",
                                                        "error": "\(String(reflecting: type(of: error))): \(error)"])
            throw HTTPError(.internalServerError, message: "the server failed; its log has the cause")
        }
    }

    static func httpError(_ error: StoreError, logger: Logger, path: String) -> HTTPError {
        if error.isNotFound { return HTTPError(.notFound, message: error.message) }
        if error.isLeaseLost { return HTTPError(.conflict, message: error.message) }
        if error.isInvalidInput { return HTTPError(.badRequest, message: error.message) }
        if error.isUnavailable {
            logger.info("the store is unreachable", metadata: ["http.path": "\(path)", "error": "\(error.message)"])
            return HTTPError(.serviceUnavailable, headers: [.retryAfter: "5"],
                             message: "the store cannot be reached just now; try again shortly")
        }
        logger.info("a store operation failed", metadata: ["http.path": "\(path)", "error": "\(error.message)"])
        return HTTPError(.internalServerError, message: "the store failed; the server's log has the cause")
    }
}
