import ArgumentParser
import Foundation
import TriageCore

extension Triage {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show counts by status, category and priority, review and corrections, and the latest run."
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var format: OutputOptions

        @Flag(help: "Also list the queries flagged for review and not corrected yet, with their text and labels.")
        var needsReview = false

        @Option(help: ArgumentHelp("With --needs-review, list at most this many.", valueName: "n"))
        var limit = 50

        func run() async throws {
            let config = try settings.reader(self.store)
            let store = try await config.openStore()
            let summary = try await store.summary()
            let lastRun = try await store.runs(limit: 1).first
            let flagged = needsReview ? try await store.list(QueryFilter(needsReview: true), after: nil, limit: limit) : nil
            if format.json {
                struct Output: Encodable {
                    var byStatus: [String: Int]
                    var byCategory: [String: Int]
                    var byPriority: [String: Int]
                    var total: Int
                    var needsReview: Int
                    var corrected: Int
                    var flagged: [QueryRecord]?
                    var lastRun: RunRecord?
                }
                var byStatus = summary.byStatus
                for status in QueryStatus.allCases where byStatus[status.rawValue] == nil { byStatus[status.rawValue] = 0 }
                print(try Format.json(Output(byStatus: byStatus, byCategory: summary.byCategory,
                                             byPriority: summary.byPriority, total: summary.total,
                                             needsReview: summary.needsReview, corrected: summary.corrected,
                                             flagged: flagged, lastRun: lastRun)))
                return
            }
            print("\(Format.count(summary.total)) queries in \(try config.storeConfiguration().displayURI)\n")
            print(Self.table("Status", QueryStatus.allCases.map { ($0.rawValue, summary.count($0)) }))
            if !summary.byCategory.isEmpty {
                print()
                print(Self.table("Category", summary.byCategory.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                    .map { ($0.key, $0.value) }))
            }
            // A taxonomy that asks no priority leaves it empty: nothing to show.
            if summary.byPriority.keys.contains(where: { !$0.isEmpty }) {
                print()
                let order = Taxonomy.customerSupport.priorityNames
                print(Self.table("Priority", summary.byPriority.sorted {
                    (order.firstIndex(of: $0.key) ?? 99, $0.key) < (order.firstIndex(of: $1.key) ?? 99, $1.key)
                }.map { ($0.key, $0.value) }))
            }
            if summary.needsReview > 0 || summary.corrected > 0 {
                print("\nReview: \(Format.count(summary.needsReview)) flagged and not corrected yet, "
                      + "\(Format.count(summary.corrected)) corrected by a person")
            }
            if let flagged {
                print(flagged.isEmpty ? "\nNo query awaits review." : "\nAwaiting review (correct with triage label ID --category NAME):")
                for record in flagged {
                    print(Self.reviewLine(record))
                }
            }
            if let lastRun {
                let s = lastRun.statistics
                var line = "\nLast run \(lastRun.id): \(lastRun.state.rawValue), \(Format.count(s.classified)) classified, "
                    + "\(Format.count(s.failed)) failed in \(Format.duration(s.durationSeconds))"
                if let agreement = s.expectedLabels {
                    line += "; category accuracy \(String(format: "%.3f", agreement.accuracy)) on "
                        + "\(Format.count(agreement.scored)) queries with expected labels"
                }
                if let flaggedInRun = s.needsReview { line += "; \(Format.count(flaggedInRun)) flagged for review" }
                if let sources = s.answersBySource, sources.keys.contains(where: { $0 != "model" }) {
                    line += "; answered by " + RunReport.sources(sources)
                }
                print(line)
            }
        }

        /// `  12  billing/high  0.41  "I was charged twice…"`: what a person needs to judge the answer.
        static func reviewLine(_ record: QueryRecord) -> String {
            let c = record.classification
            let labels = [c?.category, c?.priority].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
            let excerpt = Format.cut(record.query.text.replacingOccurrences(of: "\n", with: " "), 70)
            return "  \(Format.right(record.id.rawValue, 6))  \(Format.pad(labels, 24)) "
                + "\(String(format: "%.2f", c?.confidence ?? 0))  \"\(excerpt)\""
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
