import CMongoC
import Foundation
import Logging
import NIOPosix
import Synchronization
import TriageCore

/// One `mongoc_client_pool_t` and the threads that use it.
///
/// libmongoc blocks, so every call runs on a dedicated ``NIOThreadPool``, never on Swift's cooperative threads. The
/// pool has no more threads than the client pool has clients, so a thread never waits for a client: it takes one,
/// works, and hands it back. C pointers stay in this file and in `BSON+LibBSON.swift`.
final class MongoConnection: Sendable {
    private let pool: PoolHandle
    private let threads: NIOThreadPool
    private let closed = Mutex(false)
    /// The database named by the configuration.
    let database: String
    /// The hosts the URI names, for messages (never credentials).
    let hosts: String
    /// The server-selection timeout the driver applies, for messages.
    let serverSelectionTimeoutMS: Int32

    /// libmongoc's pool is documented thread-safe; the handle only carries its address across threads.
    private struct PoolHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// libmongoc is initialised once per process, its log routed to swift-log (`triage.mongoc`) instead of stderr.
    private static let libraryInitialized: Void = {
        mongoc_init()
        mongoc_log_set_handler({ level, domain, message, _ in
            guard let message else { return }
            let text = String(cString: message)
            let metadata: Logger.Metadata = ["mongoc.domain": "\(domain.map { String(cString: $0) } ?? "")"]
            switch level {
            case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL: driverLogger.error("\(text)", metadata: metadata)
            case MONGOC_LOG_LEVEL_WARNING: driverLogger.warning("\(text)", metadata: metadata)
            case MONGOC_LOG_LEVEL_MESSAGE, MONGOC_LOG_LEVEL_INFO: driverLogger.info("\(text)", metadata: metadata)
            default: driverLogger.trace("\(text)", metadata: metadata)
            }
        }, nil)
    }()

    init(uri text: String, database overridingDatabase: String?, maxThreads: Int) throws {
        _ = Self.libraryInitialized
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(text, &error) else {
            throw StoreError.invalidLocation(
                "\(StoreLocation.redact(text)) is not a valid MongoDB connection string: \(Self.message(of: error))"
            )
        }
        defer { mongoc_uri_destroy(uri) }
        hosts = Self.hosts(of: uri)
        serverSelectionTimeoutMS = mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 30_000)
        let uriDatabase = mongoc_uri_get_database(uri).map { String(cString: $0) }
        database = overridingDatabase ?? uriDatabase ?? "triage"
        guard let pool = mongoc_client_pool_new_with_error(uri, &error) else {
            throw StoreError.invalidLocation("cannot use \(StoreLocation.redact(text)): \(Self.message(of: error))")
        }
        mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        if mongoc_uri_get_appname(uri) == nil {
            mongoc_client_pool_set_appname(pool, "triage")
        }
        self.pool = PoolHandle(pointer: pool)
        let maxPoolSize = mongoc_uri_get_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, 100)
        threads = NIOThreadPool(numberOfThreads: max(1, min(maxThreads, Int(maxPoolSize))))
        threads.start()
    }

    /// Stops the threads, then destroys the client pool (which ends the server sessions). Later calls fail.
    func close() async {
        guard closed.withLock({ closed in defer { closed = true }; return !closed }) else { return }
        try? await threads.shutdownGracefully()
        // Destroying the pool talks to the server (endSessions): on a thread of its own, not a cooperative one.
        let pool = self.pool
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                mongoc_client_pool_destroy(pool.pointer)
                done.resume()
            }
        }
    }

    deinit {
        guard !closed.withLock({ $0 }) else { return }
        // No call is in flight once the last reference is gone; the pool goes after its threads.
        let pool = self.pool
        threads.shutdownGracefully { _ in mongoc_client_pool_destroy(pool.pointer) }
    }

    /// Runs `body` on the connection's threads with a client from the pool.
    func perform<T: Sendable>(_ body: @escaping @Sendable (MongoSession) throws -> T) async throws -> T {
        let pool = self.pool
        let database = self.database
        let context = ErrorContext(hosts: hosts, serverSelectionTimeoutMS: serverSelectionTimeoutMS)
        return try await threads.runIfActive {
            guard let client = mongoc_client_pool_try_pop(pool.pointer) else {
                throw StoreError.unavailable("no free MongoDB client (maxPoolSize is below the store's thread count)")
            }
            defer { mongoc_client_pool_push(pool.pointer, client) }
            return try body(MongoSession(client: client, database: database, context: context))
        }
    }

    private static func hosts(of uri: OpaquePointer) -> String {
        if let srv = mongoc_uri_get_srv_hostname(uri) {
            return String(cString: srv)
        }
        var names: [String] = []
        var host = mongoc_uri_get_hosts(uri)
        while let current = host {
            names.append(withUnsafeBytes(of: current.pointee.host_and_port) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            })
            host = UnsafePointer(current.pointee.next)
        }
        return names.joined(separator: ",")
    }

    fileprivate static func message(of error: bson_error_t) -> String {
        withUnsafeBytes(of: error.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}

/// Where libmongoc's own log lines go (a C callback cannot capture a logger).
private let driverLogger = Logger(label: "triage.mongoc")

/// What an error message names besides the driver's own words.
struct ErrorContext: Sendable {
    let hosts: String
    let serverSelectionTimeoutMS: Int32
}

/// What a write did, from the server's reply.
struct WriteResult: Sendable {
    var matched = 0
    var modified = 0
}

/// A client taken from the pool for one ``MongoConnection/perform(_:)``; valid only inside it.
struct MongoSession {
    fileprivate let client: OpaquePointer
    let database: String
    fileprivate let context: ErrorContext

    /// Documents matching `filter`, with find options such as `sort`, `limit` and `projection`.
    func find(_ collection: String, _ filter: BSONDocument, options: BSONDocument = [:]) throws -> [BSONDocument] {
        try withCollection(collection) { handle in
            try filter.withBSON { filter in
                try options.withBSON { options in
                    try drain(mongoc_collection_find_with_opts(handle, filter, options, nil), operation: "find")
                }
            }
        }
    }

    /// The documents an aggregation pipeline produces.
    func aggregate(_ collection: String, _ pipeline: [BSONDocument]) throws -> [BSONDocument] {
        try withCollection(collection) { handle in
            let command: BSONDocument = ["pipeline": .array(pipeline.map { .document($0) })]
            return try command.withBSON { command in
                try drain(mongoc_collection_aggregate(handle, MONGOC_QUERY_NONE, command, nil, nil), operation: "aggregate")
            }
        }
    }

    func count(_ collection: String, _ filter: BSONDocument) throws -> Int {
        try withCollection(collection) { handle in
            try filter.withBSON { filter in
                var error = bson_error_t()
                let count = mongoc_collection_count_documents(handle, filter, nil, nil, nil, &error)
                guard count >= 0 else { throw storeError(error, reply: nil, operation: "count") }
                return Int(count)
            }
        }
    }

    /// Inserts without stopping at the first error; returns how many were inserted and the indexes of the documents
    /// refused as duplicates (server code 11000). Any other write error throws.
    func insertMany(_ collection: String, _ documents: [BSONDocument]) throws -> (inserted: Int, duplicates: [Int]) {
        guard !documents.isEmpty else { return (0, []) }
        return try withCollection(collection) { handle in
            try withBSONArray(documents) { pointers, count in
                let options: BSONDocument = ["ordered": .bool(false)]
                return try options.withBSON { options in
                    try withReply { reply, error in
                        let ok = pointers.withMemoryRebound(to: OpaquePointer?.self, capacity: count) {
                            mongoc_collection_insert_many(handle, $0, count, options, reply, &error)
                        }
                        let replyDocument = BSONDocument(reading: reply)
                        let writeErrors = replyDocument["writeErrors"].flatMap { value -> [BSONDocument]? in
                            guard case .array(let errors) = value else { return nil }
                            return errors.compactMap(\.documentValue)
                        } ?? []
                        let duplicates = writeErrors.filter { $0["code"]?.intValue == 11000 }
                        if !ok && (writeErrors.isEmpty || duplicates.count < writeErrors.count
                                   || replyDocument["writeConcernErrors"] != nil) {
                            throw storeError(error, reply: replyDocument, operation: "insert")
                        }
                        return (replyDocument["insertedCount"]?.intValue ?? 0, duplicates.compactMap { $0["index"]?.intValue })
                    }
                }
            }
        }
    }

    /// Applies `update` to the documents matching `filter` (all of them, or the first with `many: false`).
    /// With `upsert`, a document is inserted when none matches.
    func update(
        _ collection: String, _ filter: BSONDocument, _ update: BSONDocument, many: Bool, upsert: Bool = false
    ) throws -> WriteResult {
        let options: BSONDocument = upsert ? ["upsert": .bool(true)] : [:]
        return try withCollection(collection) { handle in
            try filter.withBSON { filter in
                try update.withBSON { update in
                    try options.withBSON { options in
                    try withReply { reply, error in
                        let ok = many
                            ? mongoc_collection_update_many(handle, filter, update, options, reply, &error)
                            : mongoc_collection_update_one(handle, filter, update, options, reply, &error)
                        let replyDocument = BSONDocument(reading: reply)
                        guard ok else { throw storeError(error, reply: replyDocument, operation: "update") }
                        return WriteResult(
                            matched: replyDocument["matchedCount"]?.intValue ?? 0,
                            modified: replyDocument["modifiedCount"]?.intValue ?? 0
                        )
                    }
                    }
                }
            }
        }
    }

    /// One unordered bulk write of `updateOne`s (each `(filter, update)`), sent as few commands as the server
    /// allows and retried as one retryable write. Returns the matched and modified totals.
    func bulkUpdate(_ collection: String, _ updates: [(filter: BSONDocument, update: BSONDocument)]) throws -> WriteResult {
        guard !updates.isEmpty else { return WriteResult(matched: 0, modified: 0) }
        return try withCollection(collection) { handle in
            let options: BSONDocument = ["ordered": .bool(false)]
            guard let bulk = options.withBSON({ mongoc_collection_create_bulk_operation_with_opts(handle, $0) }) else {
                throw StoreError.database("MongoDB bulk write could not start")
            }
            defer { mongoc_bulk_operation_destroy(bulk) }
            for (filter, update) in updates {
                try filter.withBSON { filter in
                    try update.withBSON { update in
                        var error = bson_error_t()
                        guard mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, nil, &error) else {
                            throw storeError(error, reply: nil, operation: "bulk update")
                        }
                    }
                }
            }
            return try withReply { reply, error in
                let ok = mongoc_bulk_operation_execute(bulk, reply, &error) != 0
                let replyDocument = BSONDocument(reading: reply)
                guard ok else { throw storeError(error, reply: replyDocument, operation: "bulk update") }
                return WriteResult(matched: replyDocument["nMatched"]?.intValue ?? 0,
                                   modified: replyDocument["nModified"]?.intValue ?? 0)
            }
        }
    }

    /// Replaces the document matching `filter`, inserting it if there is none.
    func upsert(_ collection: String, _ filter: BSONDocument, replacement: BSONDocument) throws {
        try withCollection(collection) { handle in
            try filter.withBSON { filter in
                try replacement.withBSON { replacement in
                    let options: BSONDocument = ["upsert": .bool(true)]
                    try options.withBSON { options in
                        try withReply { reply, error in
                            guard mongoc_collection_replace_one(handle, filter, replacement, options, reply, &error) else {
                                throw storeError(error, reply: BSONDocument(reading: reply), operation: "replace")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs a database command (such as `ping` or `createIndexes`) and returns the server's reply.
    @discardableResult
    func command(_ command: BSONDocument) throws -> BSONDocument {
        guard let handle = mongoc_client_get_database(client, database) else {
            throw StoreError.database("cannot open MongoDB database '\(database)'")
        }
        defer { mongoc_database_destroy(handle) }
        let name = command.fields.first?.key ?? "command"
        return try command.withBSON { command in
            try withReply { reply, error in
                let ok = mongoc_database_write_command_with_opts(handle, command, nil, reply, &error)
                let replyDocument = BSONDocument(reading: reply)
                guard ok else { throw storeError(error, reply: replyDocument, operation: name) }
                return replyDocument
            }
        }
    }

    // MARK: - Scoped handles

    private func withCollection<T>(_ name: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let handle = mongoc_client_get_collection(client, database, name) else {
            throw StoreError.database("cannot open MongoDB collection '\(database).\(name)'")
        }
        defer { mongoc_collection_destroy(handle) }
        return try body(handle)
    }

    /// A reply document and an error for one call; the reply is destroyed afterwards.
    private func withReply<T>(_ body: (OpaquePointer, inout bson_error_t) throws -> T) throws -> T {
        let reply = bson_new()!
        defer { bson_destroy(reply) }
        var error = bson_error_t()
        return try body(reply, &error)
    }

    /// Reads every document a cursor yields and destroys it.
    private func drain(_ cursor: OpaquePointer?, operation: String) throws -> [BSONDocument] {
        guard let cursor else { throw StoreError.database("MongoDB \(operation) could not start") }
        defer { mongoc_cursor_destroy(cursor) }
        var documents: [BSONDocument] = []
        var current: OpaquePointer?
        while mongoc_cursor_next(cursor, &current), let current {
            documents.append(BSONDocument(reading: current))
        }
        var error = bson_error_t()
        var reply: OpaquePointer?
        if mongoc_cursor_error_document(cursor, &error, &reply) {
            throw storeError(error, reply: reply.map(BSONDocument.init(reading:)), operation: operation)
        }
        return documents
    }

    private func storeError(_ error: bson_error_t, reply: BSONDocument?, operation: String) -> StoreError {
        MongoErrors.convert(domain: error.domain, code: error.code, message: MongoConnection.message(of: error),
                            reply: reply, operation: operation, context: context)
    }
}

/// The one place libmongoc errors become ``StoreError``s, keeping the server's code and message.
enum MongoErrors {
    /// The server's codes that mean "not reachable right now" rather than "refused" (the drivers' retryable
    /// errors): the run pauses and retries.
    enum RetryLaterCode: UInt32, CaseIterable {
        case hostUnreachable = 6
        case hostNotFound = 7
        case networkTimeout = 89
        case shutdownInProgress = 91
        case primarySteppedDown = 189
        case exceededTimeLimit = 262
        case socketException = 9001
        case notWritablePrimary = 10107
        case interruptedAtShutdown = 11600
        case interruptedDueToReplStateChange = 11602
        case notPrimaryNoSecondaryOk = 13435
        case notPrimaryOrSecondary = 13436
    }

    static func convert(
        domain: UInt32, code: UInt32, message: String, reply: BSONDocument?, operation: String, context: ErrorContext
    ) -> StoreError {
        switch domain {
        case MONGOC_ERROR_SERVER_SELECTION.rawValue, MONGOC_ERROR_STREAM.rawValue:
            let timeout = context.serverSelectionTimeoutMS
            return .unavailable("cannot reach MongoDB at \(context.hosts) (serverSelectionTimeoutMS \(timeout)): \(message)")
        case MONGOC_ERROR_CLIENT.rawValue where code == MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue:
            return .database("MongoDB at \(context.hosts) refused authentication: \(message)")
        case MONGOC_ERROR_SERVER.rawValue, MONGOC_ERROR_WRITE_CONCERN.rawValue:
            let detail = "MongoDB \(operation) failed (server code \(code)): \(message)"
            return RetryLaterCode(rawValue: code) != nil ? .unavailable(detail) : .database(detail)
        default:
            return .database("MongoDB \(operation) failed (\(domain).\(code)): \(message)")
        }
    }
}
