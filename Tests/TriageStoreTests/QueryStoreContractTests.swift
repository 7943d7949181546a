import Foundation
import MongoTestSupport
import TestSupport
import Testing
import TriageCore

/// The store contract from DESIGN.md, run against every ``StoreFixture``.
@Suite("QueryStore contract")
struct QueryStoreContractTests {
    let lease = Duration.seconds(60)

    func classification(_ category: String = "billing") -> Classification {
        Classification(category: category, priority: "high", sentiment: "negative", language: "en", confidence: 0.8,
                       summary: "s", model: "m", taxonomyVersion: "v", promptTokens: 10, completionTokens: 5)
    }

    @Test("insert is idempotent on externalId", arguments: StoreFixture.allCases)
    func insertIsIdempotent(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            let first = try await store.insert(sampleQueries(5))
            #expect(first == InsertResult(inserted: 5, duplicates: 0))
            let again = try await store.insert(sampleQueries(7))
            #expect(again == InsertResult(inserted: 2, duplicates: 5))
            let repeated = [SupportQuery(text: "a", externalId: "x"), SupportQuery(text: "b", externalId: "x")]
            #expect(try await store.insert(repeated) == InsertResult(inserted: 1, duplicates: 1))
            let anonymous = [SupportQuery(text: "c"), SupportQuery(text: "c")]
            #expect(try await store.insert(anonymous) == InsertResult(inserted: 2, duplicates: 0))
            #expect(try await store.summary().count(.pending) == 10)
        }
    }

    @Test("insert is all or nothing", arguments: StoreFixture.allCases)
    func insertIsAllOrNothing(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            var queries = sampleQueries(3)
            queries[2].text = "   "
            await #expect(throws: StoreError.self) { try await opened.store.insert(queries) }
            #expect(try await opened.store.summary().total == 0)
        }
    }

    @Test("insert(chunks:) adds every chunk; a bad record in a later chunk leaves nothing of the earlier ones",
          arguments: StoreFixture.allCases)
    func chunkedInsertIsAllOrNothing(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let chunks = (0..<3).map { chunk in
                (0..<4).map { SupportQuery(text: "chunk \(chunk) query \($0)", externalId: "c\(chunk)-\($0)") }
            }
            let added = try await opened.store.insert { deliver in try chunks.forEach(deliver) }
            #expect(added == InsertResult(inserted: 12, duplicates: 0))
            var bad = chunks.map { $0.map { query in
                SupportQuery(text: query.text, externalId: "new-" + (query.externalId ?? ""))
            } }
            bad[2][3].text = "  "
            let refused = bad
            await #expect(throws: StoreError.self) {
                try await opened.store.insert { deliver in try refused.forEach(deliver) }
            }
            #expect(try await opened.peer.summary().total == 12, "the two good chunks before the bad one are not kept")
        }
    }

    @Test("every character of a query is kept exactly; a NUL, which a store would cut at, is refused naming the field",
          arguments: StoreFixture.allCases)
    func everyCharacterKept(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let text = "a\u{1}b\u{7F}c\u{2028}d\u{FEFF}e \u{1F600} e\u{301} \u{202E}rtl \\\"q\" \t\r\n \u{10FFFF} end"
            let query = SupportQuery(text: text, subject: "s\u{1B}[31m", channel: "\u{7}", customerId: "c\u{85}",
                                     externalId: "x\u{1}", metadata: ["k\u{1}": "v\u{7}\u{2029}"])
            #expect(try await opened.store.insert([query]) == InsertResult(inserted: 1, duplicates: 0))
            let read = try #require(try await opened.peer.list(QueryFilter(), after: nil, limit: 10).first?.query)
            #expect(Array(read.text.unicodeScalars) == Array(text.unicodeScalars))
            #expect(read.subject == query.subject && read.channel == query.channel)
            #expect(read.customerId == query.customerId && read.externalId == query.externalId)
            #expect(read.metadata == query.metadata)

            for (field, nul) in [("text", SupportQuery(text: "a\u{0}b nul byte")),
                                 ("subject", SupportQuery(text: "fine", subject: "a\u{0}b")),
                                 ("metadata", SupportQuery(text: "fine", metadata: ["k": "a\u{0}"]))] {
                let error = await #expect(throws: StoreError.self) { try await opened.store.insert([nul]) }
                #expect(error?.message.contains("field '\(field)'") == true, "\(String(describing: error))")
                #expect(throws: SupportQuery.Invalid(field: field, reason: "holds a NUL character (\\u0000), which cannot be stored exactly")) {
                    try nul.validated()
                }
            }
            #expect(try await opened.peer.summary().total == 1, "nothing of a refused query is stored, cut or whole")
        }
    }

    @Test("every field of a classification is stored and read back as it was written", arguments: StoreFixture.allCases)
    func classificationRoundTrip(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            _ = try await opened.store.insert(sampleQueries(1))
            let claimed = try await opened.store.claim(limit: 1, owner: "w", leaseFor: lease, now: Date())
            let record = try #require(claimed.first)
            // Whole milliseconds: what MongoDB keeps of a date.
            var answer = Classification(
                category: "billing", priority: "high", sentiment: "negative", language: "de", confidence: 0.625,
                summary: "Zweimal belastet", model: "m-1", taxonomyVersion: "tv+examples:ev", promptTokens: 1_234,
                completionTokens: 56, latencyMs: 78.5, costUSD: 0.00125,
                classifiedAt: Date(timeIntervalSince1970: 1_800_000_000.125), needsReview: true, reuseKey: "rk",
                reusedFrom: QueryID("source-1"), cachedPromptTokens: 1_024)
            // The kinds the other fields leave out: a list, counts, an enumeration.
            answer.answeredBy = .examples
            answer.fieldProblems = ["sentiment: \"furious\" is not one of the taxonomy's", "language: ''"]
            answer.redactions = ["email": 2, "phone": 1]
            try await opened.store.complete(record.id, token: try #require(record.lease?.token), classification: answer)
            let read = try #require(try await opened.peer.find(record.id)?.classification)
            #expect(read == answer, "every field, from the one field list")
            for field in Classification.fields {
                #expect(field.value(read) == field.value(answer), "\(field.name)")
            }
            answer.cachedPromptTokens = nil
            #expect(Classification.fields.first { $0.name == "cachedPromptTokens" }?.value(answer) == nil)
        }
    }

    @Test("claim leases eligible queries and counts the attempt", arguments: StoreFixture.allCases)
    func claimLeases(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(5))
            let now = Date()
            let claimed = try await store.claim(limit: 3, owner: "w1", leaseFor: lease, now: now)
            #expect(claimed.count == 3)
            for record in claimed {
                #expect(record.status == .processing)
                #expect(record.attempts == 1)
                #expect(record.lease?.owner == "w1")
                #expect(abs((record.lease?.expiresAt.timeIntervalSince(now) ?? 0) - 60) < 1)
            }
            let rest = try await store.claim(limit: 10, owner: "w2", leaseFor: lease, now: now)
            #expect(rest.count == 2)
            #expect(Set(claimed.map(\.id)).isDisjoint(with: rest.map(\.id)))
            #expect(try await store.claim(limit: 10, owner: "w3", leaseFor: lease, now: now).isEmpty)
            #expect(try await store.summary().count(.processing) == 5)
        }
    }

    @Test("an expired lease can be claimed again, and the stale holder's writes are refused",
          arguments: StoreFixture.allCases)
    func staleTokenIsFenced(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(1))
            let start = Date()
            let stale = try #require(try await store.claim(limit: 1, owner: "slow", leaseFor: .seconds(5), now: start).first)
            // Before expiry nobody else gets it.
            #expect(try await opened.peer.claim(limit: 1, owner: "fast", leaseFor: lease, now: start.addingTimeInterval(4)).isEmpty)
            let fresh = try #require(
                try await opened.peer.claim(limit: 1, owner: "fast", leaseFor: lease, now: start.addingTimeInterval(6)).first
            )
            #expect(fresh.id == stale.id)
            #expect(fresh.attempts == 2)
            #expect(fresh.lease?.token != stale.lease?.token)

            let staleError = try await #require(throws: StoreError.self) {
                try await store.complete(stale.id, token: stale.lease!.token, classification: classification("billing"))
            }
            #expect(staleError.isLeaseLost)
            await #expect(throws: StoreError.self) {
                try await store.fail(stale.id, token: stale.lease!.token,
                                     error: RecordedError(kind: "timeout", message: "late", at: Date()), retryAt: nil)
            }
            #expect(try await store.find(stale.id)?.status == .processing)

            try await opened.peer.complete(fresh.id, token: fresh.lease!.token, classification: classification("payments"))
            let done = try #require(try await store.find(fresh.id))
            #expect(done.status == .classified)
            #expect(done.classification?.category == "payments")
            #expect(done.lease == nil)
            // Once classified, no token can write again.
            await #expect(throws: StoreError.self) {
                try await store.complete(fresh.id, token: fresh.lease!.token, classification: classification())
            }
        }
    }

    @Test("two workers claiming at once never hold the same query", arguments: StoreFixture.allCases)
    func concurrentClaimsAreDisjoint(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            _ = try await opened.store.insert(sampleQueries(400))
            let stores = [opened.store, opened.peer]
            let batches = try await withThrowingTaskGroup(of: [QueryID].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [QueryID] = []
                        while true {
                            let claimed = try await stores[worker % 2].claim(
                                limit: 7, owner: "w\(worker)", leaseFor: .seconds(60), now: Date()
                            )
                            if claimed.isEmpty { return mine }
                            mine += claimed.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: [[QueryID]]()) { $0.append($1) }
            }
            let all = batches.flatMap { $0 }
            #expect(all.count == 400)
            #expect(Set(all).count == 400)
        }
    }

    @Test("a claim that loses a race to another worker still takes what is left", arguments: StoreFixture.allCases)
    func claimAfterLostRaceFindsTheRest(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            for round in 1...5 {
                _ = try await opened.store.insert(sampleQueries(20, prefix: "round \(round)"))
                async let first = opened.store.claim(limit: 10, owner: "a", leaseFor: .seconds(60), now: Date())
                async let second = opened.peer.claim(limit: 10, owner: "b", leaseFor: .seconds(60), now: Date())
                let (a, b) = try await (first, second)
                // Empty would tell a worker the backlog is done while ten queries wait.
                #expect(a.count == 10 && b.count == 10, "round \(round): \(a.count) and \(b.count)")
                #expect(Set(a.map(\.id)).isDisjoint(with: b.map(\.id)))
            }
        }
    }

    @Test("claim skips queries whose next attempt is in the future", arguments: StoreFixture.allCases)
    func claimRespectsNextAttempt(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(1))
            let now = Date()
            let record = try #require(try await store.claim(limit: 1, owner: "w", leaseFor: lease, now: now).first)
            let retryAt = now.addingTimeInterval(30)
            try await store.fail(record.id, token: record.lease!.token,
                                 error: RecordedError(kind: "timeout", message: "slow", at: now), retryAt: retryAt)
            let pending = try #require(try await store.find(record.id))
            #expect(pending.status == .pending)
            #expect(pending.lastError?.kind == "timeout")
            #expect(pending.lastError?.message == "slow")
            #expect(abs(pending.nextAttemptAt.timeIntervalSince(retryAt)) < 0.01)
            #expect(try await store.eligibleCount(now: now) == 0)
            #expect(try await store.claim(limit: 1, owner: "w", leaseFor: lease, now: now).isEmpty)
            let later = try await store.claim(limit: 1, owner: "w", leaseFor: lease, now: now.addingTimeInterval(31))
            #expect(later.map(\.id) == [record.id])
            #expect(later.first?.attempts == 2)
        }
    }

    @Test("the eligible filter lists exactly what a claim would take, the queries eligibleCount counts",
          arguments: StoreFixture.allCases)
    func eligibleFilter(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(6))
            let now = Date()
            // Two claims of a crashed worker whose leases ran out, one held now, one retried later, one classified.
            let expired = try await store.claim(limit: 2, owner: "crashed", leaseFor: .seconds(1),
                                                now: now.addingTimeInterval(-60))
            let held = try await store.claim(limit: 3, owner: "w", leaseFor: lease, now: now)
            try await store.fail(held[1].id, token: held[1].lease!.token,
                                 error: RecordedError(kind: "timeout", message: "slow", at: now),
                                 retryAt: now.addingTimeInterval(30))
            try await store.complete(held[2].id, token: held[2].lease!.token, classification: classification())
            let listed = try await store.list(QueryFilter(eligibleAt: now), after: nil, limit: 100)
            #expect(listed.count == (try await store.eligibleCount(now: now)))
            #expect(Set(listed.map(\.id)) == Set(expired.map(\.id)).union(
                try await store.list(QueryFilter(status: .pending), after: nil, limit: 100)
                    .filter { $0.nextAttemptAt <= now }.map(\.id)))
            #expect(listed.count == 3, "two expired leases and the one query never claimed")
        }
    }

    @Test("fail without a retry date marks the query failed; requeue gives it another chance",
          arguments: StoreFixture.allCases)
    func failAndRequeue(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(2))
            let claimed = try await store.claim(limit: 2, owner: "w", leaseFor: lease, now: Date())
            let error = RecordedError(kind: "rejected", message: "provider refused the input", at: Date())
            try await store.fail(claimed[0].id, token: claimed[0].lease!.token, error: error, retryAt: nil)
            let failed = try #require(try await store.find(claimed[0].id))
            #expect(failed.status == .failed)
            #expect(failed.lastError?.kind == "rejected")
            #expect(failed.lease == nil)
            #expect(try await store.requeueFailed(now: Date()) == 1)
            let requeued = try #require(try await store.find(claimed[0].id))
            #expect(requeued.status == .pending)
            #expect(requeued.attempts == 0)
            #expect(requeued.lastError?.kind == "rejected")
            #expect(try await store.requeueFailed(now: Date()) == 0)
        }
    }

    @Test("a group of results is written together, each fenced by its own lease", arguments: StoreFixture.allCases)
    func groupedWrites(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(5))
            let now = Date()
            // The third query's lease runs out and another worker takes it: its result must not land.
            var claimed = try await store.claim(limit: 2, owner: "w", leaseFor: lease, now: now)
            claimed += try await store.claim(limit: 1, owner: "w", leaseFor: .seconds(1), now: now)
            claimed += try await store.claim(limit: 1, owner: "w", leaseFor: lease, now: now)
            let stolen = try #require(try await store.claim(limit: 1, owner: "other", leaseFor: lease,
                                                           now: now.addingTimeInterval(2)).first)
            #expect(stolen.id == claimed[2].id)
            let error = RecordedError(kind: "timeout", message: "no answer", at: now)
            let retryAt = now.addingTimeInterval(30)
            let results = [
                ResultWrite(id: claimed[0].id, token: claimed[0].lease!.token, outcome: .classified(classification())),
                ResultWrite(id: claimed[1].id, token: claimed[1].lease!.token, outcome: .failed(error, retryAt: retryAt)),
                ResultWrite(id: claimed[2].id, token: claimed[2].lease!.token,
                            outcome: .classified(classification("payments"))),
                ResultWrite(id: claimed[3].id, token: claimed[3].lease!.token, outcome: .failed(error, retryAt: nil)),
            ]
            #expect(try await store.write(results) == [claimed[2].id])
            #expect(try await store.find(claimed[0].id)?.classification?.category == "billing")
            #expect(try await store.find(claimed[0].id)?.status == .classified)
            let retried = try #require(try await store.find(claimed[1].id))
            #expect(retried.status == .pending && retried.lastError?.kind == "timeout" && retried.lease == nil)
            #expect(abs(retried.nextAttemptAt.timeIntervalSince(retryAt)) < 0.01)
            let taken = try #require(try await store.find(claimed[2].id))
            #expect(taken.status == .processing && taken.lease?.token == stolen.lease?.token)
            #expect(taken.classification == nil)
            #expect(try await store.find(claimed[3].id)?.status == .failed)
            #expect(try await store.write([]) == [])
        }
    }

    @Test("find by many ids returns those that exist, in id order", arguments: StoreFixture.allCases)
    func findMany(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            _ = try await opened.store.insert(sampleQueries(5))
            let all = try await opened.store.list(QueryFilter(), after: nil, limit: 10)
            let found = try await opened.store.find([all[3].id, all[1].id, QueryID("000000000000000000000000"), QueryID("99999")])
            #expect(found.map(\.id) == [all[1].id, all[3].id])
            #expect(found.map(\.query.text) == [all[1].query.text, all[3].query.text])
            #expect(try await opened.store.find([]).isEmpty)
        }
    }

    @Test("the backlog is claimed in the order it was imported", arguments: StoreFixture.allCases)
    func claimsInImportOrder(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            // Written long ago, imported now, out of creation order: served in file order.
            var queries = sampleQueries(6)
            for index in queries.indices {
                queries[index].createdAt = Date(timeIntervalSince1970: 1_700_000_000 - Double(index % 3) * 86_400)
            }
            _ = try await opened.store.insert(queries)
            var order: [String?] = []
            for _ in queries {
                let claimed = try await opened.store.claim(limit: 1, owner: "w", leaseFor: lease, now: Date())
                order += claimed.map(\.query.externalId)
            }
            #expect(order == queries.map(\.externalId))
        }
    }

    @Test("renew extends only leases held with the token", arguments: StoreFixture.allCases)
    func renewExtendsLeases(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(2))
            let now = Date()
            let claimed = try await store.claim(limit: 2, owner: "w", leaseFor: .seconds(10), now: now)
            let token = claimed[0].lease!.token
            let renewed = try await store.renew(claimed.map(\.id), token: token, leaseFor: .seconds(100), now: now)
            #expect(Set(renewed) == Set(claimed.map(\.id)))
            #expect(try await store.renew(claimed.map(\.id), token: "not-mine", leaseFor: .seconds(100), now: now).isEmpty)
            // Past the original expiry, the renewed leases still hold.
            #expect(try await opened.peer.claim(limit: 2, owner: "x", leaseFor: lease, now: now.addingTimeInterval(50)).isEmpty)
            let expiry = try #require(try await store.find(claimed[0].id)?.lease?.expiresAt)
            #expect(abs(expiry.timeIntervalSince(now) - 100) < 1)
        }
    }

    @Test("release hands claims back untouched", arguments: StoreFixture.allCases)
    func releaseRestoresPending(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            _ = try await store.insert(sampleQueries(3))
            let claimed = try await store.claim(limit: 3, owner: "w", leaseFor: lease, now: Date())
            let token = claimed[0].lease!.token
            #expect(try await store.release(claimed.map(\.id), token: "wrong") == 0)
            #expect(try await store.release(claimed.map(\.id), token: token) == 3)
            for record in claimed {
                let released = try #require(try await store.find(record.id))
                #expect(released.status == .pending)
                #expect(released.attempts == 0)
                #expect(released.lease == nil)
                #expect(released.lastError == nil)
            }
            #expect(try await store.eligibleCount(now: Date()) == 3)
        }
    }

    @Test("summary, listing, export and filters", arguments: StoreFixture.allCases)
    func summaryAndListing(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            var queries = sampleQueries(1203)
            queries[0].metadata = ["plan": "pro"]
            queries[0].subject = "Late parcel"
            _ = try await store.insert(queries)
            let claimed = try await store.claim(limit: 3, owner: "w", leaseFor: lease, now: Date())
            let written = classification("billing")
            try await store.complete(claimed[0].id, token: claimed[0].lease!.token, classification: written)
            try await store.complete(claimed[1].id, token: claimed[1].lease!.token, classification: classification("payments"))
            try await store.fail(claimed[2].id, token: claimed[2].lease!.token,
                                 error: RecordedError(kind: "rejected", message: "no", at: Date()), retryAt: nil)

            let summary = try await store.summary()
            #expect(summary.byStatus == ["pending": 1200, "classified": 2, "failed": 1])
            #expect(summary.byCategory == ["billing": 1, "payments": 1])
            #expect(summary.byPriority == ["high": 2])

            let firstPage = try await store.list(QueryFilter(), after: nil, limit: 2)
            #expect(firstPage.count == 2)
            #expect(firstPage[0].query.metadata == ["plan": "pro"])
            #expect(firstPage[0].query.subject == "Late parcel")
            let secondPage = try await store.list(QueryFilter(), after: firstPage[1].id, limit: 2)
            #expect(secondPage.count == 2)
            #expect(firstPage[1].id < secondPage[0].id)
            #expect(try await store.list(QueryFilter(category: "payments"), after: nil, limit: 10).map(\.id) == [claimed[1].id])

            var exported: [QueryID] = []
            for try await record in store.export(QueryFilter(status: .pending), pageSize: 100) {
                exported.append(record.id)
            }
            #expect(exported.count == 1200)
            #expect(exported == exported.sorted())
            let found = try #require(try await store.find(claimed[0].id)?.classification)
            var expected = written
            // Stores keep dates to the millisecond (BSON dates do).
            #expect(abs(found.classifiedAt.timeIntervalSince(expected.classifiedAt)) < 0.002)
            expected.classifiedAt = found.classifiedAt
            #expect(found == expected)
            #expect(try await store.find(QueryID("999999999")) == nil)
        }
    }

    @Test("run records are saved, replaced and listed newest first", arguments: StoreFixture.allCases)
    func runRecords(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            let options = RunOptions(batchSize: 10, maxConcurrent: 2, maxAttempts: 3, limit: nil, classifier: "mock")
            var older = RunRecord(id: "a", owner: "w", state: .running, options: options,
                                  statistics: RunStatistics(startedAt: Date(timeIntervalSince1970: 1000)))
            let newer = RunRecord(id: "b", owner: "w", state: .completed, options: options,
                                  statistics: RunStatistics(startedAt: Date(timeIntervalSince1970: 2000), classified: 7))
            try await store.saveRun(older)
            try await store.saveRun(newer)
            older.state = .failed
            older.error = "bad key"
            try await store.saveRun(older)
            #expect(try await store.runs(limit: 10).map(\.id) == ["b", "a"])
            #expect(try await store.run("a")?.state == .failed)
            #expect(try await store.run("a")?.error == "bad key")
            #expect(try await store.run("b")?.statistics.classified == 7)
            #expect(try await store.run("missing") == nil)
        }
    }
}

@Suite("Provider batch records")
struct ProviderBatchStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    func batch(_ id: String, provider: String = "openai", endpoint: String = "http://127.0.0.1:1/v1",
               claims: [ProviderBatch.Claims], at offset: TimeInterval) -> ProviderBatch {
        ProviderBatch(id: id, provider: provider, endpoint: endpoint, model: "m", runId: "r", claims: claims,
                      createdAt: Self.start.addingTimeInterval(offset))
    }

    @Test("batches are saved, replaced and listed newest first, with the leases of several claims",
          arguments: StoreFixture.allCases)
    func savedAndListed(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            // A capability every store has, typed: no cast.
            let store = opened.store
            var first = batch("tb-1", claims: [.init(token: "t1", queryIds: [QueryID("1"), QueryID("2")]),
                                               .init(token: "t9", queryIds: [QueryID("9")])], at: 0)
            let second = batch("tb-2", provider: "anthropic", endpoint: "http://127.0.0.1:1",
                               claims: [.init(token: "t2", queryIds: [QueryID("3")])], at: 1)
            try await store.saveBatch(first)
            try await store.saveBatch(second)
            first.providerBatchId = "batch_abc"
            first.state = .inProgress
            first.counts = ProviderBatch.Counts(total: 3, succeeded: 1, failed: 0)
            try await store.saveBatch(first)
            let listed = try await store.batches(limit: 10)
            #expect(listed.map(\.id) == ["tb-2", "tb-1"])
            #expect(listed.last == first)
            #expect(try await opened.peer.batch("batch_abc")?.id == "tb-1")
            #expect(try await store.batch("tb-1")?.tokens == [QueryID("1"): "t1", QueryID("2"): "t1", QueryID("9"): "t9"])
            #expect(try await store.batch("tb-2")?.queryIds == [QueryID("3")])
            #expect(try await store.batch("nothing") == nil)
        }
    }

    @Test("a restarted run finds the unfinished batches of its provider and endpoint, however many others there are",
          arguments: StoreFixture.allCases)
    func unfinished(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let store = opened.store
            // More finished batches than the 10,000 the old listing read (in memory, where that many saves are
            // quick), then the unfinished ones.
            let finished = fixture == .sqliteMemory ? 10_100 : 200
            for n in 0..<finished {
                var done = batch("done-\(n)", claims: [.init(token: "t", queryIds: [QueryID("\(n)")])],
                                 at: TimeInterval(n))
                done.state = .ingested
                try await store.saveBatch(done)
            }
            var open = batch("open", claims: [.init(token: "t", queryIds: [QueryID("1")])], at: -10)
            open.state = .inProgress
            try await store.saveBatch(open)
            try await store.saveBatch(batch("recorded", claims: [], at: 50_000))
            try await store.saveBatch(batch("elsewhere", endpoint: "http://127.0.0.1:2/v1", claims: [], at: 1))
            try await store.saveBatch(batch("other", provider: "anthropic", claims: [], at: 2))
            let found = try await opened.peer.unfinishedBatches(provider: "openai", endpoint: "http://127.0.0.1:1/v1")
            #expect(found.map(\.id) == ["open", "recorded"], "oldest first, of this provider and endpoint only")
        }
    }

    @Test("a batch is held by one run at a time; a hold that passed is free; saving a batch keeps its hold",
          arguments: StoreFixture.allCases)
    func holds(fixture: StoreFixture) async throws {
        try await fixture.withStore { opened async throws in
            let (store, peer) = (opened.store, opened.peer)
            try await store.saveBatch(batch("tb-1", claims: [], at: 0))
            try await store.saveBatch(batch("tb-2", claims: [], at: 1))
            let now = Date()
            #expect(try await store.holdBatches(["tb-1", "tb-2"], holder: "run-a", until: now + 60, now: now)
                    == ["tb-1", "tb-2"])
            #expect(try await peer.holdBatches(["tb-1", "tb-2"], holder: "run-b", until: now + 60, now: now) == [],
                    "run-a holds both")
            #expect(try await store.holdBatches(["tb-1"], holder: "run-a", until: now + 120, now: now) == ["tb-1"],
                    "its holder renews it")
            var saved = try #require(try await store.batch("tb-1"))
            saved.state = .inProgress
            try await store.saveBatch(saved)
            #expect(try await peer.holdBatches(["tb-1"], holder: "run-b", until: now + 60, now: now + 90) == [],
                    "saving it kept the hold, renewed to +120 s")
            #expect(try await peer.holdBatches(["tb-1", "tb-2", "missing"], holder: "run-b", until: now + 300,
                                               now: now + 121) == ["tb-1", "tb-2"], "once run-a's holds passed")
        }
    }

    @Test("a batch record written before batches gathered several claims still reads, as one claim")
    func oldRecord() throws {
        let json = """
            {"id":"tb-old","provider":"openai","endpoint":"e","model":"m","runId":"r","token":"t1",
             "queryIds":["1","2"],"state":"in_progress","counts":{"total":2,"succeeded":0,"failed":0},
             "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}
            """
        let batch = try JSONDecoder.triage.decode(ProviderBatch.self, from: Data(json.utf8))
        #expect(batch.claims == [.init(token: "t1", queryIds: [QueryID("1"), QueryID("2")])])
    }
}

