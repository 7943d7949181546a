import Foundation
import TriageCore
import TriageProcessor

/// `GET /`: a small self-contained HTML page (no external assets, no script) that refreshes itself every 5 s.
enum StatusPage {
    static func render(summary: StoreSummary, active: [RunProgress], recent: [RunRecord], now: Date = Date()) -> String {
        let statusRows = QueryStatus.allCases.map { ($0.rawValue, summary.count($0)) }
        let categoryRows = summary.byCategory.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) }
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>Triage</title>
            <style>
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:980px;color:#1d2330;background:#f6f7f9}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:15px;margin:22px 0 8px;color:#46506a;text-transform:uppercase;letter-spacing:.04em}
            .muted{color:#6b7385}.card{background:#fff;border:1px solid #e2e5eb;border-radius:8px;padding:14px 16px;margin-bottom:12px}
            .grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}
            .row{display:grid;grid-template-columns:170px 1fr 70px;gap:10px;align-items:center;margin:5px 0}
            .bar{height:12px;background:#e9ecf2;border-radius:6px;overflow:hidden}.bar>span{display:block;height:100%;background:#3d6df2}
            .bar.ok>span{background:#2f9e62}.bar.warn>span{background:#e0a422}.bar.bad>span{background:#d9473f}
            .num{text-align:right;font-variant-numeric:tabular-nums}
            table{width:100%;border-collapse:collapse}td,th{padding:6px 8px;border-bottom:1px solid #eef0f4;text-align:left}
            th{font-weight:600;color:#46506a}.state{font-weight:600}.completed{color:#2f9e62}.failed{color:#d9473f}
            .cancelled{color:#b07a12}.running{color:#3d6df2}
            </style></head><body>
            <h1>Triage</h1><div class="muted">\(Format.count(summary.total)) queries · updated \(timeFormatter.string(from: now)) UTC · refreshes every 5 s</div>

            """
        html += "<h2>Runs in progress</h2>"
        if active.isEmpty {
            html += #"<div class="card muted">No run in progress.</div>"#
        }
        for run in active {
            let percent = Int((run.fraction * 100).rounded())
            let eta = run.etaSeconds.map { "ETA \(Format.duration($0))" } ?? "ETA —"
            html += """
                <div class="card"><div class="row"><div><b>\(escape(String(run.runId.prefix(8))))</b></div>
                <div class="bar"><span style="width:\(percent)%"></span></div><div class="num">\(percent)%</div></div>
                <div class="muted">\(Format.count(run.done)) of \(Format.count(run.total)) · \(Format.count(run.classified)) classified ·
                \(Format.count(run.failed)) failed · \(run.inFlight) in flight · \(String(format: "%.1f", run.rate)) queries/s · \(eta)</div></div>

                """
        }
        html += #"<div class="grid"><div class="card"><h2 style="margin-top:0">By status</h2>"#
        let statusMax = statusRows.map(\.1).max() ?? 0
        for (name, count) in statusRows {
            let tone = ["classified": "ok", "failed": "bad", "processing": "warn"][name] ?? ""
            html += row(name, count, of: statusMax, tone: tone)
        }
        html += #"</div><div class="card"><h2 style="margin-top:0">By category</h2>"#
        if categoryRows.isEmpty { html += #"<div class="muted">Nothing classified yet.</div>"# }
        let categoryMax = categoryRows.map(\.1).max() ?? 0
        for (name, count) in categoryRows { html += row(name, count, of: categoryMax, tone: "") }
        html += "</div></div><h2>Recent runs</h2><div class=\"card\"><table><tr><th>run</th><th>state</th>"
            + "<th class=\"num\">classified</th><th class=\"num\">failed</th><th class=\"num\">queries/s</th>"
            + "<th class=\"num\">p95 latency</th><th>started</th></tr>"
        let live = Dictionary(active.map { ($0.runId, $0) }, uniquingKeysWith: { first, _ in first })
        for run in recent {
            let s = run.statistics
            // A run still going shows its live counts; its record holds only what it had at the start.
            let progress = run.state == .running ? live[run.id] : nil
            let classified = progress?.classified ?? s.classified
            let failed = progress?.failed ?? s.failed
            let rate = progress?.rate ?? s.queriesPerSecond
            html += """
                <tr><td>\(escape(String(run.id.prefix(8))))</td><td class="state \(run.state.rawValue)">\(run.state.rawValue)</td>
                <td class="num">\(Format.count(classified))</td><td class="num">\(Format.count(failed))</td>
                <td class="num">\(String(format: "%.1f", rate))</td>
                <td class="num">\(progress == nil ? "\(Int(s.latencyMs.p95)) ms" : "—")</td><td>\(timeFormatter.string(from: s.startedAt))</td></tr>

                """
        }
        if recent.isEmpty { html += #"<tr><td colspan="7" class="muted">No runs yet.</td></tr>"# }
        html += "</table></div></body></html>\n"
        return html
    }

    private static func row(_ name: String, _ count: Int, of maximum: Int, tone: String) -> String {
        let width = maximum > 0 ? Double(count) / Double(maximum) * 100 : 0
        return """
            <div class="row"><div>\(escape(name))</div><div class="bar \(tone)"><span style="width:\(String(format: "%.1f", width))%"></span></div>\
            <div class="num">\(Format.count(count))</div></div>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }()

    /// Number and duration formatting for the page.
    enum Format {
        static func count(_ value: Int) -> String {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.locale = Locale(identifier: "en_US")
            return formatter.string(from: NSNumber(value: value)) ?? String(value)
        }

        static func duration(_ seconds: Double) -> String {
            seconds < 60 ? String(format: "%.0f s", seconds) : String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60)
        }
    }
}
