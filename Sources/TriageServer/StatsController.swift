import Foundation
import Hummingbird
import NIOCore
import TriageCore

/// `/v1/stats` and `/v1/status-page`: the store's summary, as JSON and as the status page's content.
struct StatsController: Sendable {
    let store: any QueryStore
    let runs: RunManager
    let configuration: ServerConfiguration
    /// What the status page offers as corrections.
    let categories: [String]

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("stats") { _, _ in JSONResponse(value: try await store.summary()) }
        group.get("status-page") { _, _ in try await statusPage() }
    }

    /// The status page's content, rendered here so that it is as private as the rest of `/v1`; `GET /` is the
    /// shell that fetches it with the key the person typed.
    func statusPage() async throws -> Response {
        let html = StatusPage.renderContent(
            summary: try await store.summary(), active: runs.activeProgress(), recent: try await store.runs(limit: 8),
            review: try await store.list(QueryFilter(needsReview: true), after: nil, limit: StatusPage.reviewListed),
            categories: categories, openToAll: configuration.apiKeys.isEmpty && configuration.allowUnauthenticated
        )
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
