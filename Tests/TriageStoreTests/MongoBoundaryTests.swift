import Foundation
import Testing

/// The driver stays behind its boundary: C types and libmongoc calls only in the two files that bridge them, and the
/// client handle usable only inside `MongoConnection.perform`, which runs on the store's own thread pool.
@Suite("MongoDB driver boundary")
struct MongoBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")
    static let bridgeFiles: Set<String> = ["TriageMongo/BSON+LibBSON.swift", "TriageMongo/MongoConnection.swift"]

    func swiftFiles() throws -> [(path: String, text: String)] {
        let enumerator = try #require(FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil))
        return try enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.map { url in
            (String(url.path.dropFirst(Self.sources.path.count + 1)), try String(contentsOf: url, encoding: .utf8))
        }
    }

    @Test("libmongoc and libbson are imported and called only in the bridge files")
    func cStaysInTheBridge() throws {
        let files = try swiftFiles()
        #expect(files.count > 20)
        for file in files where !Self.bridgeFiles.contains(file.path) {
            #expect(!file.text.contains("import CMongoC"), "\(file.path) imports the C driver")
            let calls = file.text.ranges(of: /\b(mongoc|bson)_[a-z0-9_]+\s*\(/).count
            #expect(calls == 0, "\(file.path) calls libmongoc/libbson directly")
            if file.path.hasPrefix("TriageMongo/") {
                #expect(!file.text.contains("OpaquePointer") && !file.text.contains("UnsafeMutablePointer"),
                        "\(file.path) handles a C pointer")
            }
        }
    }

    @Test("a client exists only inside perform, which hands the work to the connection's thread pool")
    func clientsOnlyOnThePool() throws {
        let connection = try String(contentsOf: Self.sources.appendingPathComponent("TriageMongo/MongoConnection.swift"), encoding: .utf8)
        // The session's client is fileprivate, so nothing outside this file can make or use one…
        #expect(connection.contains("fileprivate let client: OpaquePointer"))
        // …and in this file a session is made in one place: inside `threads.runIfActive`, with a client popped
        // without waiting (the pool has no more threads than clients).
        #expect(connection.ranges(of: "MongoSession(client:").count == 1)
        let perform = try #require(connection.firstRange(of: "return try await threads.runIfActive {"))
        let session = try #require(connection.firstRange(of: "MongoSession(client:"))
        #expect(perform.lowerBound < session.lowerBound)
        #expect(connection.contains("mongoc_client_pool_try_pop") && !connection.contains("mongoc_client_pool_pop("))
    }
}
