import Foundation
import TriageCore

/// A ``QueryStore`` on MongoDB through libmongoc, MongoDB's official C driver.
///
/// Claims are atomic on the server: the candidates are taken with one conditional `updateMany` that re-checks
/// eligibility per document, so two workers never hold one query; `complete` and `fail` are conditional on the
/// lease token (fencing). Indexes are created at start-up, idempotently. Documents with no Triage fields (written
/// by another application) count as pending.
public final class MongoQueryStore: QueryStore {
    /// Where the store lives and how it uses the driver.
    public struct Configuration: Sendable {
        /// A MongoDB connection string, honoured whole as libmongoc parses it (auth, TLS, replica set, read
        /// preference, write concern, `mongodb+srv://`, …).
        public var uri: String
        /// Overrides the database in the URI's path; the default is the path's, or `triage`.
        public var database: String?
        /// The collection holding the queries.
        public var collection = "queries"
        /// The collection holding run records.
        public var runsCollection = "triage_runs"
        /// The collection holding the shared rate limits, a document per provider key (named by a hash).
        public var limitsCollection = "triage_limits"
        /// The collection holding provider batches (``ProviderBatch``), a document each.
        public var batchesCollection = "triage_batches"
        /// Threads making blocking driver calls (never more than the URI's `maxPoolSize`).
        public var threads = 8

        public init(uri: String, database: String? = nil, collection: String? = nil) {
            self.uri = uri
            self.database = database
            if let collection { self.collection = collection }
        }
    }

    private let connection: MongoConnection
    private let collection: String
    private let runsCollection: String
    private let limitsCollection: String
    private let batchesCollection: String

    /// Connects, checks the server answers (within the URI's server-selection timeout) and creates the indexes.
    /// - Throws: ``StoreError`` naming the host (never the password) when the server cannot be reached.
    public init(configuration: Configuration) async throws {
        connection = try MongoConnection(
            uri: configuration.uri, database: configuration.database, maxThreads: configuration.threads
        )
        collection = configuration.collection
        runsCollection = configuration.runsCollection
        limitsCollection = configuration.limitsCollection
        batchesCollection = configuration.batchesCollection
        try await createIndexes()
    }

    /// `database.collection`, for messages.
    public var namespace: String { "\(connection.database).\(collection)" }

    private func createIndexes() async throws {
        let (collection, runsCollection, batchesCollection) = (self.collection, self.runsCollection,
                                                               self.batchesCollection)
        try await connection.perform { session in
            try session.command(["ping": .int32(1)])
            try session.command([
                "createIndexes": .string(collection),
                "indexes": .array([
                    .document(["key": .document(["status": .int32(1), "nextAttemptAt": .int32(1)]),
                               "name": .string("triage_status_nextAttemptAt")]),
                    .document(["key": .document(["lease.expiresAt": .int32(1)]), "name": .string("triage_lease_expiresAt")]),
                    .document(["key": .document(["lease.token": .int32(1)]), "name": .string("triage_lease_token"),
                               "sparse": .bool(true)]),
                    .document(["key": .document(["externalId": .int32(1)]), "name": .string("triage_externalId"),
                               "unique": .bool(true), "sparse": .bool(true)]),
                    .document(["key": .document(["classification.reuseKey": .int32(1)]),
                               "name": .string("triage_reuseKey"), "sparse": .bool(true)]),
                ]),
            ])
            try session.command([
                "createIndexes": .string(runsCollection),
                "indexes": .array([
                    .document(["key": .document(["startedAt": .int32(-1)]), "name": .string("triage_startedAt")]),
                ]),
            ])
            try session.command([
                "createIndexes": .string(batchesCollection),
                "indexes": .array([
                    .document(["key": .document(["createdAt": .int32(-1)]), "name": .string("triage_createdAt")]),
                    .document(["key": .document(["providerBatchId": .int32(1)]),
                               "name": .string("triage_providerBatchId"), "sparse": .bool(true)]),
                    .document(["key": .document(["state": .int32(1), "createdAt": .int32(1)]),
                               "name": .string("triage_state_createdAt")]),
                ]),
            ])
        }
    }

    /// Closes the connection pool, ending the server sessions; the store cannot be used afterwards.
    public func close() async {
        await connection.close()
    }

    /// The collections the store creates and keeps: queries, runs, shared rate limits, provider batches.
    public var collections: [String] { [collection, runsCollection, limitsCollection, batchesCollection] }

    /// Drops every collection the store created (``collections``), data and indexes. For tests; `triage` never
    /// calls it.
    public func drop() async throws {
        let names = collections
        try await connection.perform { session in
            for name in names {
                // A collection that was never created answers NamespaceNotFound: already gone.
                _ = try? session.command(["drop": .string(name)])
            }
        }
    }

    // MARK: - Filters

    /// Pending and due (a document with no status, or no `nextAttemptAt`, is both), or processing under an expired lease.
    private static func eligible(at now: Date) -> BSONValue {
        .array([
            .document([
                "status": .document(["$in": .array([.null, .string("pending")])]),
                "nextAttemptAt": .document(["$not": .document(["$gt": .date(now)])]),
            ]),
            .document(["status": .string("processing"), "lease.expiresAt": .document(["$lte": .date(now)])]),
        ])
    }

    /// Flagged for review and not corrected yet.
    private static let awaitingReview: BSONDocument = ["classification.needsReview": .bool(true), "correction": .null]

    private static func held(_ ids: [ObjectID], token: String) -> BSONDocument {
        [
            "_id": .document(["$in": .array(ids.map(BSONValue.objectID))]),
            "status": .string("processing"),
            "lease.token": .string(token),
        ]
    }

    private static func objectIDs(_ ids: [QueryID]) -> [ObjectID] {
        ids.compactMap { ObjectID(hex: $0.rawValue) }
    }

    private static func objectID(_ id: QueryID) throws -> ObjectID {
        guard let oid = ObjectID(hex: id.rawValue) else { throw StoreError.notFound("no query with id '\(id)'") }
        return oid
    }

    // MARK: - QueryStore

    public func insert(_ queries: [SupportQuery]) async throws -> InsertResult {
        try await insert(chunks: { deliver in try deliver(queries) })
    }

    /// MongoDB has no transaction here to undo a million inserts, so the chunks are read through once to check every
    /// record of every chunk (a bad record anywhere fails before anything is written), then again to write them,
    /// one `insertMany` per chunk. A store failure midway leaves the chunks written so far; importing again adds
    /// only the rest (externalIds).
    public func insert(chunks: @escaping QueryChunks) async throws -> InsertResult {
        let collection = self.collection
        return try await connection.perform { session in
            var checked = 0
            try chunks { queries in
                if let index = queries.firstIndex(where: { $0.problem != nil }), let problem = queries[index].problem {
                    throw StoreError.invalidInput("query \(checked + index + 1): \(problem)")
                }
                checked += queries.count
            }
            var total = InsertResult(inserted: 0, duplicates: 0)
            let now = Date()
            try chunks { queries in
                let (inserted, duplicates) = try session.insertMany(collection, queries.map { Self.document(for: $0, now: now) })
                total.inserted += inserted
                total.duplicates += duplicates.count
            }
            return total
        }
    }

    public func claim(limit: Int, owner: String, leaseFor: Duration, now: Date) async throws -> [QueryRecord] {
        guard limit > 0 else { return [] }
        let token = UUID().uuidString
        let collection = self.collection
        let expiresAt = now.addingTimeInterval(leaseFor.timeInterval)
        let claimedFilter: BSONDocument = ["lease.token": .string(token), "status": .string("processing")]
        let byID: BSONDocument = ["sort": .document(["_id": .int32(1)])]
        @Sendable func take(_ candidates: [BSONValue], session: MongoSession) throws -> [BSONDocument] {
            // Each document is re-checked as it is updated: one another worker took meanwhile no longer matches.
            _ = try session.update(
                collection,
                ["_id": .document(["$in": .array(candidates)]), "$or": Self.eligible(at: now)],
                [
                    "$set": .document([
                        "status": .string("processing"),
                        "lease": .document(["owner": .string(owner), "token": .string(token),
                                            "expiresAt": .date(expiresAt)]),
                        "updatedAt": .date(now),
                    ]),
                    "$inc": .document(["attempts": .int32(1)]),
                ],
                many: true
            )
            return try session.find(collection, claimedFilter, options: byID)
        }
        let claimed: [BSONDocument]
        do {
            claimed = try await connection.perform { session in
                // Workers claiming at once see the same candidates; one that loses all of them to another looks
                // again (those are no longer eligible), so that "nothing claimed" means "nothing left".
                for _ in 0..<8 {
                    let candidates = try session.find(
                        collection, ["$or": Self.eligible(at: now)],
                        options: ["sort": .document(["nextAttemptAt": .int32(1), "_id": .int32(1)]),
                                  "limit": .int64(Int64(limit)), "projection": .document(["_id": .int32(1)])]
                    ).compactMap { $0["_id"] }
                    guard !candidates.isEmpty else { return [] }
                    let claimed = try take(candidates, session: session)
                    if !claimed.isEmpty { return claimed }
                }
                return []
            }
        } catch let error as StoreError where error.isUnavailable {
            // The connection dropped mid-claim: the update may have landed with its reply lost. Whatever this token
            // holds is ours; look for it once the server answers again rather than leave it stranded until the
            // lease expires. If nothing was claimed, the caller retries the claim.
            let recovered = try await recoverClaim(claimedFilter, options: byID, until: .now + .seconds(30))
            guard let recovered, !recovered.isEmpty else { throw error }
            claimed = recovered
        }
        var records: [QueryRecord] = []
        for document in claimed {
            guard let record = Self.record(from: document) else { continue }
            if !record.query.hasText {
                // Someone else's document with nothing to classify: recorded, never retried, never blocking the run.
                let error = RecordedError(kind: "invalid_document",
                                          message: "the document has no non-empty string field 'text'", at: now)
                try? await fail(record.id, token: token, error: error, retryAt: nil)
                continue
            }
            records.append(record)
        }
        return records
    }

    /// What `filter` finds once the server answers again, or `nil` if it does not answer before `deadline`.
    private func recoverClaim(
        _ filter: BSONDocument, options: BSONDocument, until deadline: ContinuousClock.Instant
    ) async throws -> [BSONDocument]? {
        let collection = self.collection
        var delay = Duration.milliseconds(100)
        while ContinuousClock.now < deadline {
            do {
                return try await connection.perform { session in try session.find(collection, filter, options: options) }
            } catch let error as StoreError where error.isUnavailable {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
        return nil
    }

    /// One bulk write for the group, each update fenced by its lease token. When fewer matched than were sent, the
    /// group's queries are read back: a result that is there under its token landed (a retried write whose reply
    /// was lost), the others lost their lease.
    public func write(_ results: [ResultWrite]) async throws -> Set<QueryID> {
        guard !results.isEmpty else { return [] }
        let collection = self.collection
        let now = Date()
        let changes = try results.map { result -> (oid: ObjectID, status: QueryStatus, field: String,
                                                   value: BSONDocument, set: BSONDocument) in
            var set: BSONDocument = ["resultToken": .string(result.token), "updatedAt": .date(now)]
            let status = result.outcome.status, field: String, value: BSONDocument
            switch result.outcome {
            case .classified(let classification):
                (field, value) = ("classification", Self.document(for: classification))
            case .failed(let error, let retryAt):
                (field, value) = ("lastError", Self.document(for: error))
                set["nextAttemptAt"] = retryAt.map(BSONValue.date)
            }
            set["status"] = .string(status.rawValue)
            set[field] = .document(value)
            return (try Self.objectID(result.id), status, field, value, set)
        }
        return try await connection.perform { session in
            let written = try session.bulkUpdate(collection, changes.enumerated().map { index, change in
                (Self.held([change.oid], token: results[index].token),
                 ["$set": .document(change.set), "$unset": .document(["lease": .string("")])])
            })
            guard written.matched < results.count else { return [] }
            let current = try session.find(collection, ["_id": .document(["$in": .array(changes.map { .objectID($0.oid) })])])
            let byID = Dictionary(current.compactMap { document -> (String, BSONDocument)? in
                guard case .objectID(let oid)? = document["_id"] else { return nil }
                return (oid.description, document)
            }, uniquingKeysWith: { first, _ in first })
            var lost: Set<QueryID> = []
            for (result, change) in zip(results, changes) {
                let document = byID[change.oid.description]
                let landed = document?["resultToken"]?.stringValue == result.token
                    && document?["status"]?.stringValue == change.status.rawValue
                    && document?[change.field]?.documentValue == change.value.asStored
                if !landed { lost.insert(result.id) }
            }
            return lost
        }
    }

    public func renew(_ ids: [QueryID], token: String, leaseFor: Duration, now: Date) async throws -> [QueryID] {
        let oids = Self.objectIDs(ids)
        guard !oids.isEmpty else { return [] }
        let collection = self.collection
        let expiresAt = now.addingTimeInterval(leaseFor.timeInterval)
        let held = try await connection.perform { session in
            _ = try session.update(
                collection, Self.held(oids, token: token),
                ["$set": .document(["lease.expiresAt": .date(expiresAt)])], many: true
            )
            return try session.find(collection, Self.held(oids, token: token),
                                    options: ["projection": .document(["_id": .int32(1)])])
                .compactMap { document -> String? in
                    guard case .objectID(let oid)? = document["_id"] else { return nil }
                    return oid.description
                }
        }
        let heldSet = Set(held)
        return ids.filter { heldSet.contains($0.rawValue) }
    }

    public func release(_ ids: [QueryID], token: String) async throws -> Int {
        let oids = Self.objectIDs(ids)
        guard !oids.isEmpty else { return 0 }
        let collection = self.collection
        return try await connection.perform { session in
            try session.update(
                collection, Self.held(oids, token: token),
                [
                    "$set": .document(["status": .string("pending")]),
                    "$inc": .document(["attempts": .int32(-1)]),
                    "$unset": .document(["lease": .string("")]),
                ],
                many: true
            ).modified
        }
    }

    public func summary() async throws -> StoreSummary {
        let collection = self.collection
        return try await connection.perform { session in
            func counts(_ field: String, classifiedOnly: Bool) throws -> [String: Int] {
                var pipeline: [BSONDocument] = []
                if classifiedOnly { pipeline.append(["$match": .document(["status": .string("classified")])]) }
                pipeline.append(["$group": .document(["_id": .string("$" + field), "n": .document(["$sum": .int32(1)])])])
                var counts: [String: Int] = [:]
                for group in try session.aggregate(collection, pipeline) {
                    // A document with no status is pending; a classified one always has its labels.
                    let name = group["_id"]?.stringValue ?? (classifiedOnly ? "unknown" : QueryStatus.pending.rawValue)
                    counts[name, default: 0] += group["n"]?.intValue ?? 0
                }
                return counts
            }
            return StoreSummary(
                byStatus: try counts("status", classifiedOnly: false),
                byCategory: try counts("classification.category", classifiedOnly: true),
                byPriority: try counts("classification.priority", classifiedOnly: true),
                needsReview: try session.count(collection, Self.awaitingReview),
                corrected: try session.count(collection, ["correction": .document(["$ne": .null])])
            )
        }
    }

    public func eligibleCount(now: Date) async throws -> Int {
        let collection = self.collection
        return try await connection.perform { session in
            try session.count(collection, ["$or": Self.eligible(at: now)])
        }
    }

    public func find(_ id: QueryID) async throws -> QueryRecord? {
        guard let oid = ObjectID(hex: id.rawValue) else { return nil }
        let collection = self.collection
        let documents = try await connection.perform { session in
            try session.find(collection, ["_id": .objectID(oid)])
        }
        return documents.first.flatMap(Self.record(from:))
    }

    public func list(_ filter: QueryFilter, after cursor: QueryID?, limit: Int) async throws -> [QueryRecord] {
        var query: BSONDocument = [:]
        if let cursor {
            guard let oid = ObjectID(hex: cursor.rawValue) else { return [] }
            query["_id"] = .document(["$gt": .objectID(oid)])
        }
        if let status = filter.status {
            query["status"] = status == .pending
                ? .document(["$in": .array([.null, .string("pending")])])
                : .string(status.rawValue)
        }
        if let category = filter.category {
            query["classification.category"] = .string(category)
        }
        if let externalId = filter.externalId {
            query["externalId"] = .string(externalId)
        }
        var clauses: [BSONValue] = []
        if let now = filter.eligibleAt {
            clauses.append(.document(["$or": Self.eligible(at: now)]))
        }
        if filter.needsReview {
            clauses.append(.document(Self.awaitingReview))
        }
        if filter.labelled {
            clauses.append(.document(["$or": .array([
                .document(["expected.category": .document(["$ne": .null])]),
                .document(["correction": .document(["$ne": .null])]),
            ])]))
        }
        if !clauses.isEmpty {
            query["$and"] = .array(clauses)
        }
        let collection = self.collection
        let documents = try await connection.perform { [query] session in
            try session.find(collection, query,
                             options: ["sort": .document(["_id": .int32(1)]), "limit": .int64(Int64(limit))])
        }
        return documents.compactMap(Self.record(from:))
    }

    public func correct(_ id: QueryID, with correction: Correction) async throws -> QueryRecord? {
        guard let oid = ObjectID(hex: id.rawValue) else { return nil }
        let collection = self.collection
        let written = Self.document(for: correction)
        let classifying = QueryStatus.classifiedByCorrection.map { BSONValue.string($0.rawValue) } + [.null]
        let documents = try await connection.perform { session in
            // One write lands, and it carries the whole correction: the correction with `classified` when the query
            // has no answer (a document with no status is pending), the correction alone otherwise. Should the
            // status change between the two conditions (a run's attempt failing meanwhile), they are tried again.
            for _ in 0..<10 {
                let now = BSONValue.date(Date())
                let classified = try session.update(
                    collection, ["_id": .objectID(oid), "status": .document(["$in": .array(classifying)])],
                    ["$set": .document(["correction": .document(written), "updatedAt": now,
                                        "status": .string(QueryStatus.classified.rawValue)])], many: false)
                if classified.matched == 0 {
                    let kept = try session.update(
                        collection, ["_id": .objectID(oid), "status": .document(["$nin": .array(classifying)])],
                        ["$set": .document(["correction": .document(written), "updatedAt": now])], many: false)
                    guard kept.matched == 1 else {
                        if try session.find(collection, ["_id": .objectID(oid)]).isEmpty { return [BSONDocument]() }
                        continue
                    }
                }
                return try session.find(collection, ["_id": .objectID(oid)])
            }
            throw StoreError.database("the query's status kept changing while the correction was written")
        }
        return documents.first.flatMap(Self.record(from:))
    }

    /// One indexed look-up per key (many queries may carry a key: each reused answer does too).
    public func find(_ ids: [QueryID]) async throws -> [QueryRecord] {
        let oids = Self.objectIDs(ids)
        guard !oids.isEmpty else { return [] }
        let collection = self.collection
        let documents = try await connection.perform { session in
            try session.find(collection, ["_id": .document(["$in": .array(oids.map { .objectID($0) })])],
                             options: ["sort": .document(["_id": .int32(1)])])
        }
        return documents.compactMap(Self.record(from:))
    }

    public func reusable(_ reuseKeys: [String]) async throws -> [String: QueryRecord] {
        guard !reuseKeys.isEmpty else { return [:] }
        let collection = self.collection
        let keys = Set(reuseKeys)
        return try await connection.perform { session in
            var found: [String: QueryRecord] = [:]
            for key in keys {
                let documents = try session.find(
                    collection, ["classification.reuseKey": .string(key), "status": .string("classified")],
                    options: ["limit": .int64(1)])
                found[key] = documents.first.flatMap(Self.record(from:))
            }
            return found
        }
    }

    public func requeueFailed(now: Date) async throws -> Int {
        let collection = self.collection
        return try await connection.perform { session in
            try session.update(
                collection, ["status": .string("failed")],
                ["$set": .document(["status": .string("pending"), "attempts": .int32(0),
                                    "nextAttemptAt": .date(now), "updatedAt": .date(now)])],
                many: true
            ).modified
        }
    }

    public func saveRun(_ run: RunRecord) async throws {
        let document: BSONDocument = [
            "_id": .string(run.id),
            "startedAt": .date(run.statistics.startedAt),
            "state": .string(run.state.rawValue),
            "record": try Self.bson(encoding: run),
        ]
        let runsCollection = self.runsCollection
        try await connection.perform { session in
            try session.upsert(runsCollection, ["_id": .string(run.id)], replacement: document)
        }
    }

    public func saveBatch(_ batch: ProviderBatch) async throws {
        // `$set`, not a replacement: the batch's hold (holdBatches) stays as it is.
        var document: BSONDocument = [
            "createdAt": .date(batch.createdAt),
            "state": .string(batch.state.rawValue),
            "provider": .string(batch.provider),
            "endpoint": .string(batch.endpoint),
            "record": try Self.bson(encoding: batch),
        ]
        document["providerBatchId"] = batch.providerBatchId.map(BSONValue.string)
        let batchesCollection = self.batchesCollection
        try await connection.perform { [document] session in
            _ = try session.update(batchesCollection, ["_id": .string(batch.id)], ["$set": .document(document)],
                                   many: false, upsert: true)
        }
    }

    public func holdBatches(_ ids: [String], holder: String, until: Date, now: Date) async throws -> Set<String> {
        let batchesCollection = self.batchesCollection
        return try await connection.perform { session in
            var held: Set<String> = []
            for id in ids {
                let free: BSONValue = .array([
                    .document(["heldUntil": .null]), .document(["heldUntil": .document(["$lte": .date(now)])]),
                    .document(["holder": .string(holder)]),
                ])
                let written = try session.update(
                    batchesCollection, ["_id": .string(id), "$or": free],
                    ["$set": .document(["holder": .string(holder), "heldUntil": .date(until)])], many: false)
                if written.matched == 1 { held.insert(id) }
            }
            return held
        }
    }

    public func batches(limit: Int) async throws -> [ProviderBatch] {
        try await newestRecords(ProviderBatch.self, in: batchesCollection, by: "createdAt", limit: limit)
    }

    public func batch(_ id: String) async throws -> ProviderBatch? {
        try await batchRecords(["$or": .array([.document(["_id": .string(id)]),
                                               .document(["providerBatchId": .string(id)])])], options: [:]).first
    }

    public func unfinishedBatches(provider: String, endpoint: String) async throws -> [ProviderBatch] {
        // Through the state index: the unfinished batches are few, whatever the store keeps; the provider and
        // endpoint are read from each record (batches recorded before the document carried them have them there).
        let states = ProviderBatch.State.unfinished.map { BSONValue.string($0.rawValue) }
        return try await batchRecords(["state": .document(["$in": .array(states)])],
                                      options: ["sort": .document(["createdAt": .int32(1)])])
            .filter { $0.provider == provider && $0.endpoint == endpoint }
    }

    private func batchRecords(_ filter: BSONDocument, options: BSONDocument) async throws -> [ProviderBatch] {
        let batchesCollection = self.batchesCollection
        let documents = try await connection.perform { session in
            try session.find(batchesCollection, filter, options: options)
        }
        return try documents.compactMap { $0["record"] }.map { try Self.decode(ProviderBatch.self, from: $0) }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        try await newestRecords(RunRecord.self, in: runsCollection, by: "startedAt", limit: limit)
    }

    /// The `record` field of the newest `limit` documents of a collection, newest first by `field`.
    private func newestRecords<Record: Decodable>(_ type: Record.Type, in collection: String, by field: String,
                                                  limit: Int) async throws -> [Record] {
        let documents = try await connection.perform { session in
            try session.find(collection, [:],
                             options: ["sort": .document([field: .int32(-1)]), "limit": .int64(Int64(limit))])
        }
        return try documents.compactMap { $0["record"] }.map { try Self.decode(Record.self, from: $0) }
    }

    public func run(_ id: String) async throws -> RunRecord? {
        let runsCollection = self.runsCollection
        let documents = try await connection.perform { session in
            try session.find(runsCollection, ["_id": .string(id)])
        }
        return try documents.first?["record"].map { try Self.decode(RunRecord.self, from: $0) }
    }
}

extension MongoQueryStore: RateBudgetStore {
    /// Compare-and-set on a `version` field: read the budget, change it, and write it only if no other process
    /// wrote it in between (otherwise read it again). Works on any server, no transactions needed.
    public func updateRateBudget<T: Sendable>(
        _ name: String, _ change: @escaping @Sendable (inout RateBudget) -> T
    ) async throws -> T {
        let limitsCollection = self.limitsCollection
        return try await connection.perform { session in
            for _ in 0..<100 {
                let saved = try session.find(limitsCollection, ["_id": .string(name)]).first
                var budget = saved.map(Self.budget(from:)) ?? RateBudget()
                let result = change(&budget)
                var document = Self.document(for: budget)
                if let saved {
                    let version = saved["version"]?.intValue ?? 0
                    document["version"] = .int64(Int64(version + 1))
                    let written = try session.update(
                        limitsCollection, ["_id": .string(name), "version": .int64(Int64(version))],
                        ["$set": .document(document)], many: false
                    )
                    if written.matched == 1 { return result }
                } else {
                    document["_id"] = .string(name)
                    document["version"] = .int64(1)
                    // Another process creating it at the same moment makes this a duplicate: read theirs.
                    if try session.insertMany(limitsCollection, [document]).inserted == 1 { return result }
                }
            }
            throw StoreError.database("the rate budget '\(name)' kept changing under 100 tries in a row")
        }
    }

    private static func budget(from document: BSONDocument) -> RateBudget {
        var budget = RateBudget()
        budget.requestsFrom = document["requestsFrom"]?.doubleValue ?? 0
        budget.tokensFrom = document["tokensFrom"]?.doubleValue ?? 0
        budget.pausedUntil = document["pausedUntil"]?.doubleValue ?? 0
        budget.slowdown = document["slowdown"]?.doubleValue ?? 1
        budget.throttledAt = document["throttledAt"]?.doubleValue ?? 0
        return budget
    }

    private static func document(for budget: RateBudget) -> BSONDocument {
        ["requestsFrom": .double(budget.requestsFrom), "tokensFrom": .double(budget.tokensFrom),
         "pausedUntil": .double(budget.pausedUntil), "slowdown": .double(budget.slowdown),
         "throttledAt": .double(budget.throttledAt)]
    }
}
