import Foundation
import Synchronization
import TestSupport

/// A MongoDB wire-protocol test server on a free loopback port: `scripts/mongo-test-server`, run by Debian's
/// `/usr/bin/python3` with `python3-mockupdb` (the protocol) and `python3-mongomock` (query semantics).
///
/// No `mongod` can be installed here; Triage's store talks to this server through the real libmongoc. It can be made
/// unreachable and brought back with its data kept, to test how a run rides out an outage. `MONGO_TEST_PYTHON`
/// overrides the interpreter.
public final class MongoTestServer: Sendable {
    public struct StartFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int
    private let process: ProcessBox
    private let output: TextBuffer
    private let errors: TextBuffer

    /// What the server has printed so far.
    private final class TextBuffer: Sendable {
        private let text = Mutex("")

        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var value: String { text.withLock { $0 } }
        func count(of line: String) -> Int { value.components(separatedBy: "\n").filter { $0 == line }.count }
    }

    /// `Process` is not Sendable; it is only signalled and written to through the lock.
    private final class ProcessBox: @unchecked Sendable {
        let process: Process
        let input: FileHandle
        let lock = NSLock()

        init(process: Process, input: FileHandle) {
            self.process = process
            self.input = input
        }
    }

    /// The server script, in the checkout the tests were built from.
    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/mongo-test-server").path
    }

    /// Starts a server and waits until it listens.
    /// - Throws: ``StartFailed`` saying why (the Python packages missing, the script failing, no answer in time).
    public init() async throws {
        let python = ProcessInfo.processInfo.environment["MONGO_TEST_PYTHON"] ?? "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw StartFailed(description: "the MongoDB test server needs \(python) (Debian's Python): run scripts/setup --test")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let output = TextBuffer()
        let errors = TextBuffer()
        stdout.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        stderr.fileHandleForReading.readabilityHandler = { errors.append($0.availableData) }
        do {
            try process.run()
        } catch {
            throw StartFailed(description: "cannot start the MongoDB test server with \(python): \(error)")
        }
        self.process = ProcessBox(process: process, input: stdin.fileHandleForWriting)
        self.output = output
        self.errors = errors
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let text = output.value
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }),
               let port = Int(line.dropFirst("READY ".count)) {
                self.port = port
                return
            }
            if !process.isRunning || ContinuousClock.now > deadline {
                let detail = errors.value.suffix(3000)
                process.terminate()
                let hint = detail.contains("No module named")
                    ? " — install python3-mockupdb and python3-mongomock (scripts/setup --test)" : ""
                throw StartFailed(description: """
                    the MongoDB test server (\(Self.script)) did not start\(hint): \
                    \(detail.isEmpty ? "no answer within 20 s" : String(detail))
                    """)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    deinit {
        stop()
    }

    /// A connection string for `database` on this server, with a short server-selection timeout.
    public func uri(database: String, options: String = "serverSelectionTimeoutMS=2000") -> String {
        "mongodb://127.0.0.1:\(port)/\(database)" + (options.isEmpty ? "" : "?\(options)")
    }

    /// Drops every open connection and refuses new ones; the data is kept.
    public func goDown() async throws {
        try await control("down", expect: "DOWN")
    }

    /// Runs the next `command` (`update`, `insert`, …) and then closes its connection without answering: the write
    /// lands, the client sees a network error.
    public func loseNextReply(to command: String) async throws {
        try await control("lose-reply \(command)", expect: "ARMED")
    }

    /// Listens again on the same port.
    public func comeBack() async throws {
        try await control("up", expect: "UP")
    }

    /// Stops the server (also done when it is released).
    public func stop() {
        process.lock.withLock {
            guard process.process.isRunning else { return }
            try? process.input.write(contentsOf: Data("quit\n".utf8))
            try? process.input.close()
            let deadline = Date().addingTimeInterval(3)
            while process.process.isRunning && Date() < deadline { usleep(20_000) }
            if process.process.isRunning { process.process.terminate() }
        }
    }

    private func control(_ command: String, expect: String) async throws {
        let seen = output.count(of: expect)
        try process.lock.withLock { try process.input.write(contentsOf: Data("\(command)\n".utf8)) }
        let deadline = ContinuousClock.now + .seconds(20)
        while output.count(of: expect) <= seen {
            guard ContinuousClock.now < deadline else {
                throw StartFailed(description: "the MongoDB test server did not answer '\(command)'")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// pymongo (Debian `python3-pymongo`), for checking what Triage writes the way a MongoDB user reads it.
public enum PyMongo {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `code` with `db` bound to `database` on `uri`; returns what it prints.
    public static func run(_ code: String, uri: String, database: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let prelude = """
            import os, sys, datetime, json
            from pymongo import MongoClient
            from bson import ObjectId
            from bson.int64 import Int64
            db = MongoClient(os.environ["TEST_MONGO_URI"], serverSelectionTimeoutMS=5000)[os.environ["TEST_MONGO_DB"]]

            """
        process.arguments = ["-c", prelude + code]
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_MONGO_URI"] = uri
        environment["TEST_MONGO_DB"] = database
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "pymongo script failed: \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
