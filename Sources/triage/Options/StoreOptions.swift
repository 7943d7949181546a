import ArgumentParser
import Foundation
import TriageCore
import TriageSQLite

/// `--store`, shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where queries are kept: sqlite:PATH, sqlite::memory: or mongodb://HOST/DATABASE. (env: TRIAGE_STORE)",
            valueName: "uri"
        )
    )
    var store: String?

    /// The store URI from the flag, then `TRIAGE_STORE`, then the default file.
    var uri: String {
        store ?? ProcessInfo.processInfo.environment["TRIAGE_STORE"] ?? "sqlite:./triage.sqlite"
    }

    func validate() throws {
        do {
            _ = try StoreLocation(parsing: uri)
        } catch let error as StoreError {
            throw ValidationError(error.message)
        }
    }

    /// Opens the store the options name.
    func open() throws -> any QueryStore {
        try StoreFactory.open(try StoreLocation(parsing: uri))
    }
}

/// Turns a store location into a store.
enum StoreFactory {
    static func open(_ location: StoreLocation) throws -> any QueryStore {
        switch location {
        case .sqliteFile, .sqliteMemory:
            return try SQLiteQueryStore(location: location)
        case .mongodb:
            throw StoreError.invalidLocation(
                "\(location): this build has no MongoDB store yet; use sqlite:PATH (the default) for now"
            )
        }
    }
}
