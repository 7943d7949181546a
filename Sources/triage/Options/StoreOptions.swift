import ArgumentParser
import Configuration
import Foundation
import TriageCore
#if MongoDB
import TriageMongo
#endif
import TriageSQLite

/// A group of flags that sets settings: what it says, by setting key (``SettingsCatalog``), for the flags' layer of
/// ``TriageConfig``. A flag not given says nothing, and a lower layer (environment, config file, default) decides.
protocol SettingFlags {
    var settings: [String: ConfigContent] { get }
}

/// `--config`: the config file, shared by every command that reads settings.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A YAML or JSON config file: any setting by its key (triage config lists them), server settings under "
            + "server. Flags win over the environment, which wins over the file. (env: TRIAGE_CONFIG)",
        valueName: "file"
    ))
    var config: String?

    /// The one reader of the settings, with these flag groups as its top layer.
    func reader(_ groups: any SettingFlags...) throws -> TriageConfig {
        try TriageConfig(flags: groups.reduce(into: [:]) { $0.merge($1.settings) { _, last in last } },
                         configPath: config)
    }
}

/// `--store`, `--database` and `--collection`, shared by every command that touches the store.
struct StoreOptions: ParsableArguments, SettingFlags {
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

    var settings: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values["store"] = store.map(ConfigContent.string)
        values["database"] = database.map(ConfigContent.string)
        values["collection"] = collection.map(ConfigContent.string)
        return values
    }
}

extension TriageConfig {
    /// Where the settings keep the queries.
    func storeConfiguration() throws -> StoreConfiguration {
        try build(StoreConfiguration.init(config:))
    }

    /// Opens the store the settings name; a MongoDB store is reachable and indexed when this returns.
    func openStore() async throws -> any QueryStore {
        let configuration = try storeConfiguration()
        guard case .mongodb(let uri) = configuration.location else { return try StoreFactory.open(configuration.location) }
        #if MongoDB
        // The driver's own log lines go through swift-log; set it up before the driver starts.
        _ = CLILogging.logger("triage.store")
        var mongo = MongoQueryStore.Configuration(uri: uri, database: configuration.database,
                                                  collection: configuration.collection)
        mongo.threads = 8
        return try await MongoQueryStore(configuration: mongo)
        #else
        _ = uri
        throw StoreError.invalidLocation("""
            this triage was built without MongoDB (the MongoDB package trait is off); build it with the default \
            traits, with libmongoc-dev installed, to use \(configuration.displayURI)
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
