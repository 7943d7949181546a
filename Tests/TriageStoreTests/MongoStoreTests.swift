import Foundation
import MongoTestSupport
import TestSupport
import Testing
import TriageCore
import TriageMongo

/// What only the MongoDB store has to do: read other applications' documents, write types a MongoDB user expects,
/// and say clearly when the server cannot be reached.
@Suite("MongoDB store")
struct MongoStoreTests {
    func withTarget(_ body: (MongoTarget, MongoQueryStore) async throws -> Void) async throws {
        let target = try await MongoTarget.make()
        let store = try await MongoQueryStore(configuration: .init(uri: target.uri, database: target.database))
        do {
            try await body(target, store)
        } catch {
            if target.server == nil { try? await store.drop() }
            await store.close()
            throw error
        }
        if target.server == nil { try? await store.drop() }
        await store.close()
    }

    @Test("documents written by another application, with no Triage fields, are a backlog")
    func plainDocumentsArePending() async throws {
        try await withTarget { target, store in
            _ = try PyMongo.run("""
                now = datetime.datetime(2026, 5, 1, 9, 30)
                db.queries.insert_many([
                    {"text": "I was charged twice for my subscription", "createdAt": now},
                    {"text": "Where is my parcel?", "createdAt": now, "app": {"ticket": 7}},
                    {"body": "no text field at all", "createdAt": now},
                ])
                """, uri: target.uri, database: target.database)
            #expect(try await store.summary().byStatus == ["pending": 3])
            #expect(try await store.eligibleCount(now: Date()) == 3)
            let claimed = try await store.claim(limit: 10, owner: "w", leaseFor: .seconds(60), now: Date())
            // The document with nothing to classify is recorded as failed, not handed to the classifier.
            #expect(claimed.map(\.query.text).sorted() == ["I was charged twice for my subscription", "Where is my parcel?"])
            #expect(claimed.allSatisfy { $0.attempts == 1 && $0.query.createdAt == Date(timeIntervalSince1970: 1_777_627_800) })
            let failed = try await store.list(QueryFilter(status: .failed), after: nil, limit: 10)
            #expect(failed.first?.lastError?.kind == "invalid_document")
            for record in claimed {
                try await store.complete(record.id, token: record.lease!.token, classification: Classification(
                    category: "billing", priority: "high", sentiment: "negative", language: "en", confidence: 0.9,
                    summary: "s", model: "m", taxonomyVersion: "v", promptTokens: 12, completionTokens: 3
                ))
            }
            // Their own fields are untouched; Triage's sit beside them.
            let check = try PyMongo.run("""
                doc = db.queries.find_one({"text": "Where is my parcel?"})
                print(json.dumps({"app": doc["app"], "status": doc["status"], "lease": "lease" in doc,
                                  "category": doc["classification"]["category"]}, sort_keys=True))
                """, uri: target.uri, database: target.database)
            #expect(check == #"{"app": {"ticket": 7}, "category": "billing", "lease": false, "status": "classified"}"#)
        }
    }

    @Test("what Triage writes has the BSON types a MongoDB user queries on")
    func bsonTypesAsPymongoSeesThem() async throws {
        try await withTarget { target, store in
            var query = SupportQuery(text: "Refund please", subject: "Refund", channel: "email", customerId: "c-1",
                                     externalId: "ext-1", createdAt: Date(timeIntervalSince1970: 1_700_000_000.123),
                                     metadata: ["plan": "pro"])
            query.metadata["region"] = "eu"
            _ = try await store.insert([query])
            let claimed = try await store.claim(limit: 1, owner: "w", leaseFor: .seconds(60), now: Date())
            let lease = try #require(claimed.first?.lease)
            let types = try PyMongo.run("""
                doc = db.queries.find_one({"externalId": "ext-1"})
                print(json.dumps({k: type(v).__name__ for k, v in doc.items()}, sort_keys=True))
                print(json.dumps({k: type(v).__name__ for k, v in doc["lease"].items()}, sort_keys=True))
                print(doc["createdAt"].isoformat(), doc["metadata"]["plan"])
                """, uri: target.uri, database: target.database).split(separator: "\n").map(String.init)
            #expect(types[0] == #"{"_id": "ObjectId", "attempts": "int", "channel": "str", "createdAt": "datetime", "customerId": "str", "externalId": "str", "lease": "dict", "metadata": "dict", "nextAttemptAt": "datetime", "status": "str", "subject": "str", "text": "str", "updatedAt": "datetime"}"#)
            #expect(types[1] == #"{"expiresAt": "datetime", "owner": "str", "token": "str"}"#)
            #expect(types[2] == "2023-11-14T22:13:20.123000 pro")
            try await store.complete(claimed[0].id, token: lease.token, classification: Classification(
                category: "returns_refunds", priority: "normal", sentiment: "neutral", language: "en", confidence: 0.75,
                summary: "Wants a refund", model: "mock", taxonomyVersion: "abc", promptTokens: 120, completionTokens: 30,
                latencyMs: 12.5, costUSD: 0.0001
            ))
            let classification = try PyMongo.run("""
                doc = db.queries.find_one({"_id": ObjectId("\(claimed[0].id)")})
                c = doc["classification"]
                print(json.dumps({k: type(v).__name__ for k, v in c.items()}, sort_keys=True))
                print(doc["status"], type(doc["attempts"]).__name__, doc["attempts"], c["category"], c["confidence"])
                print(db.queries.count_documents({"classification.category": "returns_refunds", "status": "classified"}))
                """, uri: target.uri, database: target.database).split(separator: "\n").map(String.init)
            #expect(classification[0] == #"{"category": "str", "classifiedAt": "datetime", "completionTokens": "Int64", "confidence": "float", "costUSD": "float", "language": "str", "latencyMs": "float", "model": "str", "needsReview": "bool", "priority": "str", "promptTokens": "Int64", "sentiment": "str", "summary": "str", "taxonomyVersion": "str"}"#)
            #expect(classification[1] == "classified int 1 returns_refunds 0.75")
            #expect(classification[2] == "1")
        }
    }

    @Test("a result whose reply was lost is recognised when sent again, by its lease token, not taken for a lost lease",
          .enabled(if: ProcessInfo.processInfo.environment["MONGODB_URI"] == nil, "needs the test server's fault control"))
    func lostReplyIsNotALostLease() async throws {
        try await withTarget { target, store in
            let server = try #require(target.server)
            _ = try await store.insert(sampleQueries(3))
            let claimed = try await store.claim(limit: 3, owner: "w", leaseFor: .seconds(60), now: Date())
            let token = try #require(claimed.first?.lease?.token)
            // A date with sub-millisecond digits, which BSON truncates: the result read back never equals it.
            let classification = Classification(
                category: "billing", priority: "high", sentiment: "negative", language: "en", confidence: 0.8,
                summary: "s", model: "m", taxonomyVersion: "v", classifiedAt: Date(timeIntervalSince1970: 1_800_000_000.123456)
            )
            try await server.loseNextReply(to: "update")
            await #expect(throws: (any Error).self) {
                try await store.complete(claimed[0].id, token: token, classification: classification)
            }
            // Sent again, as the processor's shielded writes do: the first try landed, and that is success.
            try await store.complete(claimed[0].id, token: token, classification: classification)

            let error = RecordedError(kind: "timeout", message: "slow", at: Date(timeIntervalSince1970: 1_800_000_000.654321))
            try await server.loseNextReply(to: "update")
            await #expect(throws: (any Error).self) {
                try await store.fail(claimed[1].id, token: token, error: error, retryAt: Date().addingTimeInterval(60))
            }
            try await store.fail(claimed[1].id, token: token, error: error, retryAt: Date().addingTimeInterval(60))

            // Another claim's token is still refused, and a result over another one is a lost lease.
            await #expect(throws: StoreError.self) {
                try await store.complete(claimed[0].id, token: "someone-else", classification: classification)
            }
            await #expect(throws: StoreError.self) {
                try await store.fail(claimed[0].id, token: token, error: error, retryAt: nil)
            }
            let summary = try await store.summary()
            #expect(summary.byStatus == ["classified": 1, "pending": 1, "processing": 1])
        }
    }

    @Test("drop() removes every collection the store created: queries, runs, limits, batches")
    func dropRemovesEverything() async throws {
        let target = try await MongoTarget.make()
        defer { target.server?.stop() }
        let store = try await MongoQueryStore(configuration: .init(uri: target.uri, database: target.database))
        _ = try await store.insert(sampleQueries(2))
        try await store.saveRun(RunRecord(id: "r", owner: "o", state: .completed,
                                          options: RunOptions(batchSize: 1, maxConcurrent: 1, maxAttempts: 1, limit: nil,
                                                              classifier: "c"),
                                          statistics: RunStatistics(startedAt: Date())))
        _ = try await store.updateRateBudget("key-x") { $0.requestsFrom = 1 }
        try await store.saveBatch(ProviderBatch(id: "tb", provider: "openai", endpoint: "e", model: "m", runId: "r",
                                                claims: []))
        let before = try PyMongo.run("print(' '.join(sorted(db.list_collection_names())))",
                                     uri: target.uri, database: target.database)
        #expect(before.contains("triage_batches") && before.contains("triage_limits"), "\(before)")
        try await store.drop()
        await store.close()
        let after = try PyMongo.run("print(' '.join(sorted(db.list_collection_names())))",
                                    uri: target.uri, database: target.database)
        #expect(after.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left behind: \(after)")
    }

    @Test("indexes are created at start-up, and again without complaint")
    func indexesAreIdempotent() async throws {
        try await withTarget { target, _ in
            let again = try await MongoQueryStore(configuration: .init(uri: target.uri, database: target.database))
            await again.close()
            let names = try PyMongo.run("""
                print(" ".join(sorted(index["name"] for index in db.queries.list_indexes())))
                info = db.queries.index_information()["triage_externalId"]
                print(info.get("unique"), info.get("sparse"))
                """, uri: target.uri, database: target.database).split(separator: "\n").map(String.init)
            #expect(names[0] == "_id_ triage_externalId triage_lease_expiresAt triage_lease_token triage_reuseKey "
                    + "triage_status_nextAttemptAt")
            #expect(names[1] == "True True")
        }
    }

    @Test("an unreachable server fails within the server-selection timeout, naming the host, never the password")
    func unreachableServer() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        let uri = "mongodb://triage:s3cr3t-pw@127.0.0.1:\(port)/support?serverSelectionTimeoutMS=1000"
        let started = ContinuousClock.now
        let error = try await #require(throws: StoreError.self) {
            _ = try await MongoQueryStore(configuration: .init(uri: uri))
        }
        // The 1 s timeout, not libmongoc's default 30 s: alone this takes about a second, but a loaded CI machine
        // (the whole suite at once on two cores) has taken ten to get the blocking call scheduled.
        #expect(ContinuousClock.now - started < .seconds(25))
        #expect(error.isUnavailable)
        #expect(error.message.contains("127.0.0.1:\(port)"))
        #expect(error.message.contains("cannot reach MongoDB"))
        #expect(!error.message.contains("s3cr3t-pw"))
        #expect(!"\(error)".contains("s3cr3t-pw"))
        withExtendedLifetime(closed) {}
    }

    @Test("a malformed connection string is refused with the password hidden")
    func malformedURI() async throws {
        let error = try await #require(throws: StoreError.self) {
            _ = try await MongoQueryStore(configuration: .init(uri: "mongodb://triage:s3cr3t-pw@127.0.0.1:27017/db?w=notanumber&replicaSet="))
        }
        #expect(error.isInvalidLocation)
        #expect(!error.message.contains("s3cr3t-pw"))
    }
}
