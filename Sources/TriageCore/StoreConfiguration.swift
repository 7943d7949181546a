import Configuration

/// Where the queries are kept, as the settings say: `store` (a store URI), and for MongoDB `database` and
/// `collection`.
public struct StoreConfiguration: Sendable, Hashable {
    public var location: StoreLocation
    /// The URI as given, for the driver (a MongoDB connection string is passed whole).
    public var uri: String
    /// MongoDB: the database, overriding the URI's path.
    public var database: String?
    /// MongoDB: the collection holding the queries.
    public var collection: String?

    /// The default: an SQLite file in the current folder.
    public static let defaultURI = "sqlite:./triage.sqlite"

    /// - Throws: ``ConfigurationError`` for a URI that is not a store's, or MongoDB settings with an SQLite store.
    public init(config: ConfigReader) throws {
        uri = config.string(forKey: "store", isSecret: true, default: Self.defaultURI)
        do {
            location = try StoreLocation(parsing: uri)
        } catch let error as StoreError {
            throw ConfigurationError("store", error.message)
        }
        database = config.string(forKey: "database")
        collection = config.string(forKey: "collection")
        for (key, name) in [("database", database), ("collection", collection)] where name?.isEmpty == true {
            throw ConfigurationError(key, "must not be empty")
        }
        if case .mongodb = location {} else if database != nil || collection != nil {
            throw ConfigurationError(database != nil ? "database" : "collection", "applies to a MongoDB store only")
        }
    }

    /// The URI with any password hidden, for output.
    public var displayURI: String { StoreLocation.redact(uri) }
}
