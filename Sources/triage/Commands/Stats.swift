import ArgumentParser
import Foundation
import TriageCore

extension Triage {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show counts by status, category and priority, and the latest run."
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var format: OutputOptions

        func run() async throws {
            let store = try await self.store.open()
            let summary = try await store.summary()
            let lastRun = try await store.runs(limit: 1).first
            if format.json {
                struct Output: Encodable {
                    var byStatus: [String: Int]
                    var byCategory: [String: Int]
                    var byPriority: [String: Int]
                    var total: Int
                    var lastRun: RunRecord?
                }
                var byStatus = summary.byStatus
                for status in QueryStatus.allCases where byStatus[status.rawValue] == nil { byStatus[status.rawValue] = 0 }
                print(try Format.json(Output(byStatus: byStatus, byCategory: summary.byCategory,
                                             byPriority: summary.byPriority, total: summary.total, lastRun: lastRun)))
                return
            }
            print("\(Format.count(summary.total)) queries in \(self.store.displayURI)\n")
            print(Self.table("Status", QueryStatus.allCases.map { ($0.rawValue, summary.count($0)) }))
            if !summary.byCategory.isEmpty {
                print()
                print(Self.table("Category", summary.byCategory.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                    .map { ($0.key, $0.value) }))
            }
            if !summary.byPriority.isEmpty {
                print()
                let order = Taxonomy.customerSupport.priorityNames
                print(Self.table("Priority", summary.byPriority.sorted {
                    (order.firstIndex(of: $0.key) ?? 99, $0.key) < (order.firstIndex(of: $1.key) ?? 99, $1.key)
                }.map { ($0.key, $0.value) }))
            }
            if let lastRun {
                let s = lastRun.statistics
                print("\nLast run \(lastRun.id): \(lastRun.state.rawValue), \(Format.count(s.classified)) classified, "
                      + "\(Format.count(s.failed)) failed in \(Format.duration(s.durationSeconds))")
            }
        }

        static func table(_ title: String, _ rows: [(String, Int)]) -> String {
            let maximum = rows.map(\.1).max() ?? 0
            let total = rows.map(\.1).reduce(0, +)
            var lines = ["\(Format.pad(title, 20)) \(Format.right("count", 7)) \(Format.right("share", 6))"]
            for (name, count) in rows {
                let share = total > 0 ? String(format: "%.1f%%", Double(count) / Double(total) * 100) : "-"
                lines.append("\(Format.pad(name, 20)) \(Format.right(Format.count(count), 7)) \(Format.right(share, 6))  "
                             + Format.bar(count, of: maximum, width: 24))
            }
            return lines.joined(separator: "\n")
        }
    }
}
