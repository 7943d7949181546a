import Foundation

/// Runs the built `triage` executable, as a user would.
public enum TriageBinary {
    /// The result of one invocation.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The executable beside the test bundle (`.build/debug/triage`), or `TRIAGE_BINARY`.
    public static var url: URL {
        if let path = ProcessInfo.processInfo.environment["TRIAGE_BINARY"] {
            return URL(fileURLWithPath: path)
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        // On macOS the test binary sits inside Contents/MacOS of an .xctest bundle.
        while folder.pathExtension == "xctest" || ["MacOS", "Contents"].contains(folder.lastPathComponent) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("triage")
    }

    /// Runs `triage` with `arguments` in `directory`, and waits for it (SIGTERM past `timeout`).
    public static func run(
        _ arguments: [String],
        in directory: URL? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        let process = try start(arguments, in: directory, environment: environment)
        return try await process.wait(timeout: timeout)
    }

    /// Starts `triage` without waiting.
    public static func start(
        _ arguments: [String],
        in directory: URL? = nil,
        environment: [String: String] = [:]
    ) throws -> RunningTriage {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        // The caller's store settings do not leak in; a test names its store.
        for key in ["TRIAGE_STORE", "MONGODB_URI", "TRIAGE_MONGO_DATABASE", "TRIAGE_MONGO_COLLECTION"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let folder = try TemporaryDirectory(prefix: "triage-proc")
        let out = folder.url.appendingPathComponent("stdout")
        let err = folder.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningTriage(process: process, folder: folder)
    }
}

/// A `triage` process started by ``TriageBinary/start(_:in:environment:)``.
public final class RunningTriage: @unchecked Sendable {
    // Process is not Sendable; this wrapper only reads it after it exits, or signals it.
    private let process: Process
    private let folder: TemporaryDirectory

    init(process: Process, folder: TemporaryDirectory) {
        self.process = process
        self.folder = folder
    }

    /// What the process has written to standard error so far.
    public var stderrSoFar: String {
        (try? String(contentsOf: folder.url.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
    }

    public var isRunning: Bool { process.isRunning }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    public func wait(timeout: Duration = .seconds(120)) async throws -> TriageBinary.Result {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        defer { folder.remove() }
        let stdout = (try? String(contentsOf: folder.url.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: folder.url.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
        return TriageBinary.Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}

extension TriageBinary {
    /// `triage stats --json` for `store`: how many queries are in each status.
    public static func statusCounts(store: String) async throws -> [String: Int] {
        let stats = try await run(["stats", "--json", "--store", store])
        let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        return object?["byStatus"] as? [String: Int] ?? [:]
    }
}
