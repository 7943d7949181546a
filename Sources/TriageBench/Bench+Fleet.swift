import Foundation
import TestSupport

extension Bench {
    // MARK: (j) a fleet under one rate limit

    /// `triage run` processes on one SQLite file, all started with the same `--rpm 540`, against a fake provider
    /// that allows 600 RPM as 10 requests in each second (a 429 for the 11th): the fleet's rate and its 429s, with one
    /// process and with three side by side. `BENCH_FLEET_COUNT` queries (default 540: a minute at the limit).
    static func fleet() async throws {
        let count = ProcessInfo.processInfo.environment["BENCH_FLEET_COUNT"].flatMap(Int.init) ?? 540
        print("(j) fleet: \(count) queries, every process --rpm 540 on one store, provider allowing 10 requests in each second:")
        for processes in [1, 3] {
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = ["--store", "sqlite:" + folder.appendingPathComponent("fleet.sqlite").path]
            let imported = try await TriageBinary.run(["import", "--count", "\(count)"] + store)
            precondition(imported.status == 0, imported.stderr)
            let server = FakeLLMServer(requestsPerSecond: 10, window: .quantized) { _ in .classification(after: .milliseconds(100)) }
            let statuses = try await server.run {
                let workers = try (0..<processes).map { _ in
                    try TriageBinary.start(
                        ["run", "--llm", "openai", "--llm-url", server.openAIBaseURL, "--rpm", "540",
                         "--batch-size", "8", "--max-concurrent", "8"] + store,
                        environment: ["OPENAI_API_KEY": "sk-bench"]
                    )
                }
                var statuses: [Int32] = []
                for worker in workers { statuses.append(try await worker.wait(timeout: .seconds(3_600)).status) }
                return statuses
            }
            let times = server.requests.map(\.receivedAt).sorted()
            let whole = Double(times.count - 1) / (times.last! - times.first!).timeInterval * 60
            // The steady state: without the first and last 5% (processes starting, the last stopping).
            let (from, to) = (times.count / 20, times.count - 1 - times.count / 20)
            let steady = Double(to - from) / (times[to] - times[from]).timeInterval * 60
            print(String(format: "    %d process%@: %4.0f RPM steady (%.0f over the whole run, %.1f%% of 540), %d 429s, "
                         + "%d requests, exit %@", processes, processes == 1 ? "  " : "es", steady, whole,
                         steady / 540 * 100, server.throttledCount, server.requestCount,
                         statuses.map(String.init).joined(separator: "/")))
        }
    }
}
