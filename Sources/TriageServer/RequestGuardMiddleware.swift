import Foundation
import HTTPTypes
import Hummingbird

/// Runs before every route (and the not-found answer): refuses a `Host` the server does not answer to, so a web page
/// whose name was rebound to this server's address cannot read from it, and adds headers that keep browsers from
/// sniffing, framing or caching answers.
///
/// Allowed: requests without `Host`, IP addresses, `localhost`, the listen host, and the operator's allow-list.
/// (A rebinding page can only send its own name, never an address.)
struct RequestGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    /// `localhost`, the listen host and the operator's names, built once.
    let names: HostPatterns

    init(listenHost: String, allowedHosts: HostPatterns) {
        names = HostPatterns(["localhost", listenHost] + allowedHosts.patterns)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        // The first Host header became the authority; any other is still a header field.
        if request.headers[Self.host] != nil {
            response = try HTTPError(.badRequest, message: "a request has one Host header, not several")
                .response(from: request, context: context)
        } else if let authority = request.head.authority, Self.hostName(of: authority) == nil {
            response = try HTTPError(.badRequest, message: "the Host header is not a host with an optional port")
                .response(from: request, context: context)
        } else if let authority = request.head.authority, !allows(authority) {
            response = try HTTPError(.forbidden, message: """
                this server does not answer to the host '\(Self.hostName(of: authority) ?? "")'; its operator can \
                allow it with --allowed-host
                """).response(from: request, context: context)
        } else {
            do {
                response = try await next(request, context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            }
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "no-referrer"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var host: HTTPField.Name { HTTPField.Name("Host")! }

    /// Whether the server answers to the host of a well-formed `authority`.
    func allows(_ authority: String) -> Bool {
        guard let name = Self.hostName(of: authority) else { return false }
        return IPAddress(name) != nil || names.matches(name)
    }

    /// `example.org:8080` → `example.org`; `[::1]:8080` → `::1`; `nil` for anything that is not a host (a name of
    /// letters, digits, `-` and `.`, or a bracketed IPv6 address) with an optional port of digits:
    /// `localhost:@evil.example`, `[::1]evil.example`, `:80`, `a b`.
    static func hostName(of authority: String) -> String? {
        let host: Substring
        let rest: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            rest = authority[authority.index(after: close)...]
            guard IPAddress(String(host)) != nil else { return nil }
        } else {
            let colon = authority.firstIndex(of: ":") ?? authority.endIndex
            host = authority[..<colon]
            rest = authority[colon...]
            guard !host.isEmpty, host.utf8.allSatisfy({ byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }) else { return nil }
        }
        let port = rest.dropFirst()
        guard rest.isEmpty || (rest.first == ":" && !port.isEmpty && port.count <= 5
                               && port.utf8.allSatisfy { (0x30...0x39).contains($0) }) else { return nil }
        return String(host)
    }
}

/// Refuses request bodies that a web page can send to another site without asking (forms, `text/plain`, or no type
/// at all): every POST, PUT and PATCH under `/v1` must say `application/json` (or `application/x-ndjson`), which
/// a browser sends cross-site only after a CORS preflight that this server never approves.
struct JSONBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if [.post, .put, .patch].contains(request.method) {
            let type = request.headers[.contentType]?.split(separator: ";").first?
                .trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/json" || type == "application/x-ndjson" else {
                throw HTTPError(.unsupportedMediaType, message: """
                    send the body with Content-Type: application/json (or application/x-ndjson for POST /v1/queries)
                    """)
            }
        }
        return try await next(request, context)
    }
}
