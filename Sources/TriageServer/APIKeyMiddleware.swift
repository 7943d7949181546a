import Hummingbird

/// Requires `Authorization: Bearer KEY` with one of the configured keys on `/v1` routes and any protected path;
/// answers 401 with a JSON error otherwise. With no keys configured, everything is open.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>
    let protectedPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let needsKey = path == "/v1" || path.hasPrefix("/v1/") || protectedPaths.contains(path)
        guard needsKey, !keys.isEmpty else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              keys.contains(String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "a valid API key is required: Authorization: Bearer KEY")
        }
        return try await next(request, context)
    }
}
