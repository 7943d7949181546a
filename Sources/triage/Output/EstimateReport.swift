import Foundation
import TriageProcessor

/// `triage run --dry-run`'s estimate, for a person.
enum EstimateReport {
    static func render(_ estimate: RunEstimate, concurrency: Int) -> String {
        guard estimate.estimated else {
            return "  No estimate: this classifier cannot tell what its requests would take."
        }
        var lines = [
            "  Requests:  \(Format.count(estimate.requests)), about \(Format.count(estimate.promptTokens)) prompt + "
                + "\(Format.count(estimate.completionTokens)) completion tokens (counted from the requests, examples "
                + "included)",
        ]
        if estimate.reused > 0 {
            lines.append("  Reused:    \(Format.count(estimate.reused)) identical to an answer stored or earlier in the "
                         + "backlog: no request")
        }
        if estimate.fromExamples > 0 {
            lines.append("  Examples:  \(Format.count(estimate.fromExamples)) decided by the retrieved examples alone: no "
                         + "request (--answer-from-examples off to ask anyway)")
        }
        lines.append("  Cost:      " + String(format: "$%.4f online, $%.4f in batch mode", estimate.costUSD,
                                              estimate.batchCostUSD))
        if let seconds = estimate.seconds, let bound = estimate.boundBy {
            let why = switch bound {
            case "rpm": "at the --rpm limit"
            case "tpm": "at the --tpm limit"
            default: String(format: "%d in flight at %.1f s an answer (the last run's)", concurrency,
                            estimate.latencySeconds ?? 0)
            }
            lines.append("  Time:      about \(Format.duration(seconds)) online, \(why)")
        } else {
            lines.append("  Time:      unknown: no --rpm or --tpm, and no earlier run with this classifier to time")
        }
        return lines.joined(separator: "\n")
    }
}
