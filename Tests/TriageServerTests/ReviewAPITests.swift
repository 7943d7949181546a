import Foundation
import HummingbirdTesting
import TestSupport
import Testing
import TriageCore
@testable import TriageServer
import TriageSQLite

/// Expected labels over the API, `PATCH /v1/queries/{id}`, the review filter and the status page's review list.
@Suite("Review API")
struct ReviewAPITests {
    @Test("PATCH /v1/queries/{id} keeps the correction beside the answer and takes the query off the review list")
    func patchRecordsCorrection() async throws {
        try await withServer(configure: {
            $0.workers = true
            // The scripted classifier answers with confidence 0.9: every answer is flagged.
            $0.processor.reviewBelow = 0.95
        }) { client, _ in
            let body = #"[{"text": "charged twice", "externalId": "a", "expected": {"category": "billing"}}, "#
                + #"{"text": "where is my parcel", "externalId": "b"}]"#
            #expect(try await client.json(.post, "/v1/queries", body: body).status == .created)
            #expect(try await eventually {
                try await client.json(.get, "/v1/stats").value["needsReview"] as? Int == 2
            })
            let flagged = try await client.json(.get, "/v1/queries?needsReview=true")
            let queries = try #require(flagged.value["queries"] as? [[String: Any]])
            #expect(queries.count == 2)
            let first = try #require(queries.first)
            let id = try #require(first["id"] as? String)
            #expect((first["query"] as? [String: Any])?["expected"] as? [String: String] == ["category": "billing"])

            let patched = try await client.json(.patch, "/v1/queries/\(id)",
                                                body: #"{"category": "billing", "priority": "high", "note": "double charge", "by": "alice"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let correction = try #require(patched.value["correction"] as? [String: Any])
            #expect(correction["category"] as? String == "billing")
            #expect(correction["by"] as? String == "alice")
            #expect(correction["note"] as? String == "double charge")
            #expect((patched.value["classification"] as? [String: Any])?["category"] as? String == "orders_shipping")

            let remaining = try await client.json(.get, "/v1/queries?needsReview=true")
            #expect((remaining.value["queries"] as? [Any])?.count == 1)
            let stats = try await client.json(.get, "/v1/stats")
            #expect(stats.value["corrected"] as? Int == 1)
            #expect(stats.value["needsReview"] as? Int == 1)
        }
    }

    @Test("PATCH refuses labels outside the taxonomy, unknown queries, missing fields and non-JSON bodies")
    func patchRefusesBadInput() async throws {
        try await withServer(queries: 1) { client, store in
            let id = try #require(try await store.list(QueryFilter(), after: nil, limit: 1).first?.id.rawValue)
            let unknown = try await client.json(.patch, "/v1/queries/\(id)", body: #"{"category": "bananas"}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.text.contains("field 'category': 'bananas' is not in the taxonomy"), "\(unknown.text)")
            let badPriority = try await client.json(.patch, "/v1/queries/\(id)",
                                                    body: #"{"category": "billing", "priority": "whenever"}"#)
            #expect(badPriority.text.contains("field 'priority'"), "\(badPriority.text)")
            let missing = try await client.json(.patch, "/v1/queries/\(id)", body: #"{"note": "x"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("field 'category' is required"), "\(missing.text)")
            let form = try await client.json(.patch, "/v1/queries/\(id)", body: "category=billing",
                                             contentType: "application/x-www-form-urlencoded")
            #expect(form.status == .unsupportedMediaType)
            #expect(try await client.json(.patch, "/v1/queries/99999", body: #"{"category": "billing"}"#).status == .notFound)
            #expect(try await store.find(QueryID(id))?.correction == nil)
            let badFilter = try await client.json(.get, "/v1/queries?needsReview=maybe")
            #expect(badFilter.status == .badRequest)
            let badExpected = try await client.json(.post, "/v1/queries",
                                                    body: #"{"text": "t", "expected": {"category": "bananas"}}"#)
            #expect(badExpected.status == .badRequest)
            #expect(badExpected.text.contains("field 'expected.category'"), "\(badExpected.text)")
        }
    }

    @Test("without a key, PATCH changes nothing")
    func patchNeedsAKey() async throws {
        try await withServer(queries: 1, configure: { $0.apiKeys = ["k"] }) { client, store in
            let id = try #require(try await store.list(QueryFilter(), after: nil, limit: 1).first?.id.rawValue)
            let refused = try await client.json(.patch, "/v1/queries/\(id)", body: #"{"category": "billing"}"#)
            #expect(refused.status == .unauthorized)
            let wrong = try await client.json(.patch, "//v1/queries/\(id)", body: #"{"category": "billing"}"#, key: "no")
            #expect(wrong.status == .unauthorized)
            #expect(try await store.find(QueryID(id))?.correction == nil)
            let accepted = try await client.json(.patch, "/v1/queries/\(id)", body: #"{"category": "billing"}"#, key: "k")
            #expect(accepted.status == .ok)
            #expect((accepted.value["correction"] as? [String: Any])?["by"] as? String == "api")
        }
    }

    @Test("the status page lists queries awaiting review with their text escaped and a form to correct them")
    func statusPageListsReview() async throws {
        let store = try await reviewStore(text: #"<script>alert("x")</script> my card was declined"#)
        let html = StatusPage.renderContent(
            summary: try await store.summary(), active: [], recent: [],
            review: try await store.list(QueryFilter(needsReview: true), after: nil, limit: 20),
            categories: ["billing", "payments"], openToAll: false
        )
        #expect(html.contains("Awaiting review"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; my card was declined"))
        #expect(!html.contains("<script>"))
        #expect(html.contains(#"<form class="correct" data-id="1">"#))
        #expect(html.contains("<option selected>billing</option><option>payments</option>"), "the model's answer first")
        let none = StatusPage.renderContent(summary: try await store.summary(), active: [], recent: [], openToAll: false)
        #expect(!none.contains("Awaiting review"))
    }

    /// A store with one classified query flagged for review.
    func reviewStore(text: String) async throws -> any QueryStore {
        let store = try SQLiteQueryStore(location: .sqliteMemory)
        _ = try await store.insert([SupportQuery(text: text)])
        let claimed = try await store.claim(limit: 1, owner: "w", leaseFor: .seconds(60), now: Date())
        try await store.complete(claimed[0].id, token: claimed[0].lease!.token, classification: Classification(
            category: "billing", priority: "high", sentiment: "negative", language: "en", confidence: 0.3,
            summary: "s", model: "m", taxonomyVersion: "v", needsReview: true))
        return store
    }
}
