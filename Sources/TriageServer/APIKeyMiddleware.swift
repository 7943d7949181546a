import Hummingbird

/// Requires `Authorization: Bearer KEY` with one of the configured keys; answers 401 otherwise.
///
/// It decides nothing from the request's path: it is attached to the route groups that need a key, so it runs for
/// exactly the routes the router resolved into them, however the path was spelled (`//v1/stats`, `/metrics/`).
/// With no keys configured it refuses everything unless the operator opened the API on purpose (`--no-auth`).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeys
    let allowUnauthenticated: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if keys.isEmpty {
            guard allowUnauthenticated else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: """
                    no API keys are configured on this server: the operator sets TRIAGE_API_KEYS (or server.apiKeys), \
                    or opens the API to everyone with --no-auth
                    """)
            }
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              keys.accepts(header.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "a valid API key is required: Authorization: Bearer KEY")
        }
        return try await next(request, context)
    }
}
