import Foundation
import TestSupport
import TriageIngest

extension Bench {
    // MARK: (k) a million queries

    /// A backlog of `BENCH_SCALE_COUNT` queries (default 1,000,000) through the `triage` executable, each command a
    /// process of its own, timed with its peak resident memory: `import --file` of a JSONL file, `stats`, `run
    /// --mock-llm` (zero latency) against a run over a tenth of the backlog, and `export` to a reader slower than it.
    static func scale() async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_SCALE_COUNT"].flatMap(Int.init) ?? 1_000_000
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = count / 10
        let file = folder.appendingPathComponent("backlog.jsonl").path
        let smallFile = folder.appendingPathComponent("tenth.jsonl").path
        try writeBacklog(count: count, to: file, tenth: small, tenthTo: smallFile)
        let store = "sqlite:" + folder.appendingPathComponent("scale.sqlite").path
        let smallStore = "sqlite:" + folder.appendingPathComponent("tenth.sqlite").path
        print("(k) scale: \(count) queries, file SQLite, each command a process of its own:")

        let imported = try measure(["import", "--file", file, "--store", store])
        print(String(format: "    import --file (JSONL)  %7.1f s  %8.0f records/s  peak %4.0f MB", imported.seconds,
                     Double(count) / imported.seconds, imported.peakMB))
        let pendingStats = try measure(["stats", "--store", store])
        _ = try measure(["import", "--file", smallFile, "--store", smallStore])

        let run = ["run", "--mock-llm", "--batch-size", "500", "--max-concurrent", "64", "--json"]
        let tenth = try measure(run + ["--store", smallStore])
        let whole = try measure(run + ["--store", store])
        let (tenthRate, wholeRate) = (try rate(tenth.stdout), try rate(whole.stdout))
        print(String(format: "    run --mock-llm  %7d: %7.0f queries/s  peak %4.0f MB", small, tenthRate, tenth.peakMB))
        print(String(format: "    run --mock-llm %8d: %7.0f queries/s  peak %4.0f MB  (%.2f× the rate over %d)",
                     count, wholeRate, whole.peakMB, wholeRate / tenthRate, small))
        let stats = try measure(["stats", "--store", store])
        print(String(format: "    stats                  %7.2f s (all pending: %.2f s)  peak %4.0f MB", stats.seconds,
                     pendingStats.seconds, stats.peakMB))
        let exported = try measure(["export", "--format", "jsonl", "--store", store], slowReader: true)
        print(String(format: "    export to a slow reader %6.1f s  peak %4.0f MB", exported.seconds, exported.peakMB))
    }

    /// Writes `count` JSONL records with distinct texts, and the first `tenth` of them to a second file.
    private static func writeBacklog(count: Int, to path: String, tenth: Int, tenthTo tenthPath: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        FileManager.default.createFile(atPath: tenthPath, contents: nil)
        let (out, tenthOut) = (try FileHandle(forWritingTo: URL(fileURLWithPath: path)),
                               try FileHandle(forWritingTo: URL(fileURLWithPath: tenthPath)))
        defer { try? out.close(); try? tenthOut.close() }
        var generator = SampleQueries.Generator(seed: 7)
        var block = ""
        for index in 0..<count {
            let query = generator.next()
            let text = query.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            block += #"{"externalId": "s\#(index)", "text": "\#(text)", "channel": "\#(query.channel ?? "email")"}"# + "\n"
            if (index + 1) % 10_000 == 0 || index == count - 1 {
                try out.write(contentsOf: Data(block.utf8))
                if index < tenth { try tenthOut.write(contentsOf: Data(block.utf8)) }
                block = ""
            }
        }
    }

    private static func rate(_ report: String) throws -> Double {
        let object = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any]
        let statistics = object?["statistics"] as? [String: Any]
        let classified = statistics?["classified"] as? Int ?? 0
        let seconds = statistics?["durationSeconds"] as? Double ?? .infinity
        return Double(classified) / seconds
    }

    /// Runs `triage` with `arguments` as a process of its own and measures it; with `slowReader`, its standard output
    /// goes to a pipe read at 16 MB a second.
    private static func measure(_ arguments: [String], slowReader: Bool = false) throws
        -> (seconds: Double, peakMB: Double, stdout: String)
    {
        let output = Pipe()
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output.fileHandleForWriting.fileDescriptor, 1)
        let executable = TriageBinary.url.path
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = ContinuousClock.now
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else {
            throw BenchError("cannot start \(executable)")
        }
        try output.fileHandleForWriting.close()
        var captured = Data()
        let reader = output.fileHandleForReading
        while true {
            let chunk = reader.readData(ofLength: slowReader ? 64 * 1024 : 1 << 20)
            if chunk.isEmpty { break }
            if slowReader {
                Thread.sleep(forTimeInterval: 0.004)  // 64 KB every 4 ms: 16 MB/s
            } else {
                captured.append(chunk)
            }
        }
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let seconds = (ContinuousClock.now - started).timeInterval
        guard status == 0 else { throw BenchError("triage \(arguments.joined(separator: " ")) failed (\(status))") }
        return (seconds, Double(usage.ru_maxrss) / 1024, String(decoding: captured, as: UTF8.self))
    }
}
