import Foundation
import TestSupport
import Testing
import TriageCore
@testable import TriageServer

/// The API key bypass, tried as an attacker would: every route, every method, every spelling of its path that a
/// router might accept, sent byte for byte over loopback.
@Suite("Authorization on the resolved route")
struct AuthorizationTests {
    /// A route, a request that its handler answers in a known way, and that answer.
    struct Route: CustomStringConvertible {
        var method: String
        var path: String
        var body: String?
        /// What the handler answers to a key holder.
        var status: Int
        /// For a handler's own 404: text its answer contains (a router's 404 does not).
        var marker: String?

        var description: String { "\(method) \(path)" }
    }

    static let apiRoutes: [Route] = [
        Route(method: "GET", path: "/v1/stats", status: 200),
        Route(method: "GET", path: "/v1/queries", status: 200),
        Route(method: "GET", path: "/v1/queries/424242", status: 404, marker: "no query with id"),
        Route(method: "POST", path: "/v1/queries", body: #"{"text": "attacker's query"}"#, status: 201),
        Route(method: "POST", path: "/v1/classify", body: #"{"text": "where is my parcel?"}"#, status: 200),
        Route(method: "GET", path: "/v1/runs", status: 200),
        Route(method: "GET", path: "/v1/runs/nope", status: 404, marker: "no run with id"),
        Route(method: "POST", path: "/v1/runs", body: "{}", status: 202),
        Route(method: "POST", path: "/v1/runs/nope/cancel", body: "{}", status: 404, marker: "no run with id"),
    ]

    static let operationRoutes: [Route] = [
        Route(method: "GET", path: "/", status: 200),
        Route(method: "GET", path: "/healthz", status: 200),
        Route(method: "GET", path: "/readyz", status: 200),
        Route(method: "GET", path: "/metrics", status: 200),
        Route(method: "GET", path: "/openapi.json", status: 200),
    ]

    /// Spellings of `path` that differ from it only in ways a lenient reader might ignore.
    static func spellings(of path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        var all = [path, "/" + path, path + "/", path + "//", "/." + path, path + "?x=1", path + "#fragment",
                   path.uppercased(), path + "/.", path + "/%2e"]
        if let first = segments.first {
            all.append("/\(first)/..\(path)")
            all.append("/%2F" + path.dropFirst())
            all.append("/" + first.replacingOccurrences(of: "v", with: "%76") + path.dropFirst(first.count + 1))
            all.append(path.replacingOccurrences(of: "/", with: "%2F"))
        }
        if segments.count > 1 {
            let rest = segments.dropFirst().joined(separator: "/")
            all += ["/\(segments[0])//\(rest)", "/\(segments[0])/./\(rest)", "/\(segments[0])%2F\(rest)",
                    "/\(segments[0])\\\(rest)", "/\(segments[0])/x/../\(rest)"]
        }
        return all
    }

    func request(_ route: Route, target: String, key: String?, port: Int) async throws -> RawHTTPClient.Response {
        var headers: [(String, String)] = []
        if route.body != nil { headers.append(("Content-Type", "application/json")) }
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        return try await RawHTTPClient.send(route.method, target, port: port, headers: headers, body: route.body)
    }

    /// Whether the response is the route's handler answering (not the router's 404 or the key check's 401).
    func reachedHandler(_ response: RawHTTPClient.Response, _ route: Route) -> Bool {
        response.status == route.status && (route.marker.map { response.body.contains($0) } ?? true)
    }

    /// Sends every spelling of every route without a key, then with one. Without a key nothing is ever 2xx, and a
    /// spelling that reaches the handler with a key is 401 without one.
    func checkTable(_ routes: [Route], port: Int, mustResolve: Set<String>) async throws {
        for route in routes {
            for target in Self.spellings(of: route.path) {
                let withKey = try await request(route, target: target, key: "table-key", port: port)
                let withoutKey = try await request(route, target: target, key: nil, port: port)
                let wrongKey = try await request(route, target: target, key: "table-kez", port: port)
                #expect(!(200..<300).contains(withoutKey.status), "\(route.method) \(target) answered \(withoutKey.status) without a key")
                #expect(!(200..<300).contains(wrongKey.status), "\(route.method) \(target) answered \(wrongKey.status) to a wrong key")
                if reachedHandler(withKey, route) {
                    #expect(withoutKey.status == 401, "\(route.method) \(target) reached its handler with a key but answered \(withoutKey.status) without")
                    #expect(wrongKey.status == 401)
                    #expect(withoutKey.header("WWW-Authenticate") == "Bearer")
                } else {
                    // Not a route: the router's 404, or 400 for a target that is not a path at all.
                    #expect([400, 404].contains(withKey.status),
                            "\(route.method) \(target) with a key: \(withKey.status) \(withKey.body)")
                }
                if mustResolve.contains(where: { target == $0.replacingOccurrences(of: "P", with: route.path) }) {
                    #expect(reachedHandler(withKey, route), "\(route.method) \(target) with a key: \(withKey.status)")
                }
            }
        }
    }

    /// The spellings this router resolves to the route (`P` stands for the path): each must reach the handler with a
    /// key, so the table shows the bypass spellings really route.
    static let resolving: Set<String> = ["P", "/P", "P/", "P//", "P?x=1"]

    @Test("every /v1 route × method × path spelling: 401 without a key, never 2xx; the handler with one")
    func apiTable() async throws {
        try await withServer(configure: {
            $0.apiKeys = ["table-key"]
            $0.maxActiveRuns = 1_000
        }) { client, _ in
            try await checkTable(Self.apiRoutes, port: try #require(client.port), mustResolve: Self.resolving)
        }
    }

    @Test("--protect: every spelling of a protected path needs the key")
    func protectTable() async throws {
        try await withServer(configure: {
            $0.apiKeys = ["table-key"]
            $0.protectedPaths = ["/", "/healthz", "/readyz", "/metrics/", "/openapi.json"]
        }) { client, _ in
            try await checkTable(Self.operationRoutes, port: try #require(client.port), mustResolve: Self.resolving)
        }
    }

    @Test("unprotected operational routes stay open, protected ones are not, in any spelling")
    func openOperations() async throws {
        try await withServer(configure: { $0.apiKeys = ["k"]; $0.protectedPaths = ["/metrics"] }) { client, _ in
            let port = try #require(client.port)
            for path in ["/healthz", "/healthz/", "//healthz", "/readyz", "/openapi.json"] {
                #expect(try await RawHTTPClient.send("GET", path, port: port).status == 200, "\(path)")
            }
            for path in ["/metrics", "/metrics/", "/metrics//", "//metrics", "/metrics?x"] {
                #expect(try await RawHTTPClient.send("GET", path, port: port).status == 401, "\(path)")
            }
        }
    }

    @Test("a --protect path that names no route is refused at start-up")
    func protectUnknownPath() throws {
        var configuration = ServerConfiguration()
        configuration.protectedPaths = ["/metricz"]
        #expect(throws: ServerConfiguration.Invalid.self) { try configuration.validate() }
        configuration.protectedPaths = ["/metrics/", "/"]
        try configuration.validate()
    }
}
