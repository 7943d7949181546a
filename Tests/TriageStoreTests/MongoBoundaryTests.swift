import Foundation
import TestSupport
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

    /// The object files the build made from our sources, by target and file (`TriageMongo/MongoConnection.swift`).
    func objectFiles() throws -> [(source: String, url: URL)] {
        let build = TriageBinary.url.deletingLastPathComponent()
        let folders = try FileManager.default.contentsOfDirectory(at: build, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "build" && ($0.lastPathComponent.hasPrefix("Triage")
                || ["triage.build", "TestSupport.build"].contains($0.lastPathComponent)) }
        return try folders.flatMap { folder in
            try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { $0.lastPathComponent.hasSuffix(".swift.o") }
                .map { ("\(folder.deletingPathExtension().lastPathComponent)/\($0.lastPathComponent.dropLast(2))", $0) }
        }
    }

    /// The C symbols an object file uses from libmongoc and libbson.
    func driverSymbols(_ object: URL) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nm", "--undefined-only", "--format=just-symbols", object.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "nm failed on \(object.path)")
        return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("mongoc_") || $0.hasPrefix("bson_") }
    }

    @Test("no compiled code outside the two bridge files uses a libmongoc or libbson symbol")
    func cStaysInTheBridge() throws {
        let objects = try objectFiles()
        #expect(objects.count > 20, "the build's object files were not found beside \(TriageBinary.url.path)")
        var bridgeSymbols = 0
        for object in objects {
            let symbols = try driverSymbols(object.url)
            if Self.bridgeFiles.contains(object.source) {
                bridgeSymbols += symbols.count
            } else {
                #expect(symbols.isEmpty, "\(object.source) uses \(symbols.prefix(3).joined(separator: ", "))")
            }
        }
        #expect(bridgeSymbols > 20, "the bridge files are where the driver is called")
        for file in try swiftFiles() where file.path.hasPrefix("TriageMongo/") && !Self.bridgeFiles.contains(file.path) {
            #expect(!file.text.contains("OpaquePointer") && !file.text.contains("UnsafeMutablePointer"),
                    "\(file.path) handles a C pointer")
        }
    }

    @Test("a client exists only inside perform, which hands the work to the connection's thread pool")
    func clientsOnlyOnThePool() throws {
        // Compared without whitespace, so that reformatting the file changes nothing here.
        let connection = try String(contentsOf: Self.sources.appendingPathComponent("TriageMongo/MongoConnection.swift"),
                                    encoding: .utf8).filter { !$0.isWhitespace }
        // The session's client is fileprivate, so nothing outside this file can make or use one…
        #expect(connection.contains("fileprivateletclient:OpaquePointer"))
        // …and in this file a session is made in one place: inside `threads.runIfActive`, with a client popped
        // without waiting (the pool has no more threads than clients).
        #expect(connection.ranges(of: "MongoSession(client:").count == 1)
        let perform = try #require(connection.firstRange(of: "threads.runIfActive{"))
        let session = try #require(connection.firstRange(of: "MongoSession(client:"))
        #expect(perform.lowerBound < session.lowerBound)
        #expect(connection.contains("mongoc_client_pool_try_pop(") && !connection.contains("mongoc_client_pool_pop("))
    }
}
