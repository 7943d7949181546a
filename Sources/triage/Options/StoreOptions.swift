import ArgumentParser
import Foundation
import TriageCore
#if MongoDB
import TriageMongo
#endif
import TriageSQLite

/// `--store`, `--database` and `--collection`, shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where queries are kept: sqlite:PATH, sqlite::memory: or a MongoDB connection string "
                + "(mongodb://HOST/DATABASE or mongodb+srv://…). (env: TRIAGE_STORE, then MONGODB_URI; "
                + "default: sqlite:./triage.sqlite)",
            valueName: "uri"
        )
    )
    var store: String?

    @Option(help: ArgumentHelp(
        "MongoDB database, overriding the connection string's path (default: the path, or 'triage'). "
            + "(env: TRIAGE_MONGO_DATABASE)",
        valueName: "name"
    ))
    var database: String?

    @Option(help: ArgumentHelp(
        "MongoDB collection holding the queries; documents without Triage's fields count as pending. "
            + "(env: TRIAGE_MONGO_COLLECTION; default: queries)",
        valueName: "name"
    ))
    var collection: String?

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The store URI from the flag, then `TRIAGE_STORE`, then `MONGODB_URI`, then the default file.
    var uri: String {
        store ?? environment["TRIAGE_STORE"] ?? environment["MONGODB_URI"] ?? "sqlite:./triage.sqlite"
    }

    /// The store URI with any password hidden, for output.
    var displayURI: String { StoreLocation.redact(uri) }

    func validate() throws {
        do {
            let location = try StoreLocation(parsing: uri)
            if case .mongodb = location {} else if database != nil || collection != nil {
                throw ValidationError("--database and --collection apply to a MongoDB store only")
            }
        } catch let error as StoreError {
            throw ValidationError(error.message)
        }
        for (flag, name) in [("--database", database), ("--collection", collection)] where name?.isEmpty == true {
            throw ValidationError("\(flag) must not be empty")
        }
    }

    /// Opens the store the options name; a MongoDB store is reachable and indexed when this returns.
    func open() async throws -> any QueryStore {
        let location = try StoreLocation(parsing: uri)
        guard case .mongodb(let uri) = location else { return try StoreFactory.open(location) }
        #if MongoDB
        // The driver's own log lines go through swift-log; set it up before the driver starts.
        _ = CLILogging.logger("triage.store")
        var configuration = MongoQueryStore.Configuration(
            uri: uri,
            database: database ?? environment["TRIAGE_MONGO_DATABASE"],
            collection: collection ?? environment["TRIAGE_MONGO_COLLECTION"]
        )
        configuration.threads = 8
        return try await MongoQueryStore(configuration: configuration)
        #else
        _ = uri
        throw StoreError.invalidLocation("""
            this triage was built without MongoDB (the MongoDB package trait is off); build it with the default \
            traits, with libmongoc-dev installed, to use \(StoreLocation.redact(self.uri))
            """)
        #endif
    }
}

/// Turns an SQLite store location into a store (the demo's, and `--store sqlite:…`).
enum StoreFactory {
    static func open(_ location: StoreLocation) throws -> any QueryStore {
        switch location {
        case .sqliteFile, .sqliteMemory:
            return try SQLiteQueryStore(location: location)
        case .mongodb:
            throw StoreError.invalidLocation("\(location) is a MongoDB store; open it with its database and collection")
        }
    }
}
