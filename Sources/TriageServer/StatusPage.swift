import Crypto
import Foundation
import Hummingbird
import TriageCore
import TriageProcessor

/// The status page, in two parts so that nothing on it is public when keys are configured: `GET /` is a
/// self-contained shell (no data, no external assets, one inline script allowed by its hash), and the script fetches
/// the content from `GET /v1/status-page` every 5 s, sending the key the person typed into the page once, kept in
/// the tab's session storage. Queries awaiting review are listed with a form each; the script sends a correction as
/// `PATCH /v1/queries/{id}` with the same key.
enum StatusPage {
    /// How many queries awaiting review the page lists.
    static let reviewListed = 20

    static let script = """
        (function () {
          var content = document.getElementById("content"), form = document.getElementById("key-form");
          var input = document.getElementById("key");
          function headers() {
            var key = sessionStorage.getItem("triage.apiKey");
            return key ? { "Authorization": "Bearer " + key } : {};
          }
          function load() {
            var active = document.activeElement;
            if (active && active.tagName === "SELECT" && content.contains(active)) { return; }
            var key = sessionStorage.getItem("triage.apiKey");
            fetch("/v1/status-page", { headers: headers(), cache: "no-store", credentials: "omit" })
              .then(function (response) {
                if (response.status === 401) {
                  form.hidden = false;
                  content.textContent = key ? "That key was not accepted." : "Enter an API key to see the status.";
                  return;
                }
                if (!response.ok) { content.textContent = "The server answered " + response.status + "."; return; }
                return response.text().then(function (html) { form.hidden = true; content.innerHTML = html; });
              })
              .catch(function () { content.textContent = "The server does not answer."; });
          }
          content.addEventListener("submit", function (event) {
            var target = event.target;
            if (!target.classList.contains("correct")) { return; }
            event.preventDefault();
            var sent = headers();
            sent["Content-Type"] = "application/json";
            fetch("/v1/queries/" + encodeURIComponent(target.getAttribute("data-id")), {
              method: "PATCH", headers: sent, credentials: "omit",
              body: JSON.stringify({ category: target.elements.category.value, by: "status page" })
            }).then(function () { document.activeElement.blur(); load(); });
          });
          form.addEventListener("submit", function (event) {
            event.preventDefault();
            sessionStorage.setItem("triage.apiKey", input.value.trim());
            input.value = "";
            load();
          });
          load();
          setInterval(load, 5000);
        })();
        """

    /// Allows the inline script above and nothing else: no other script, no framing, requests to this origin only.
    static let contentSecurityPolicy: String = {
        let hash = Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString()
        return "default-src 'none'; script-src 'sha256-\(hash)'; style-src 'unsafe-inline'; connect-src 'self'; "
            + "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    }()

    /// `GET /`: the page without its data.
    static func shell() -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
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
            .warning{background:#fff4e0;border-color:#e0a422}
            form{margin:12px 0}input{font:inherit;padding:6px 8px;width:320px}button{font:inherit;padding:6px 12px}
            </style></head><body>
            <h1>Triage</h1>
            <form id="key-form" hidden><label>API key <input id="key" type="password" autocomplete="off"></label>
            <button type="submit">Show status</button>
            <div class="muted">Kept in this tab only (session storage) and sent as a bearer token.</div></form>
            <div id="content" class="muted">Loading…</div>
            <script>\(script)</script>
            </body></html>

            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                               .contentSecurityPolicy: contentSecurityPolicy],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A run's provider batches, one line each: the provider's id and state, and its counts as last polled.
    static func batchLines(_ run: RunProgress) -> String {
        guard let batches = run.batches else { return "" }
        var lines = batches.map { batch in
            """
            <div class="muted">batch \(escape(batch.providerBatchId ?? batch.id)): \(escape(batch.state.rawValue)) · \
            \(Format.count(batch.succeeded + batch.failed)) of \(Format.count(batch.total)) done · \
            \(Format.count(batch.failed)) failed</div>
            """
        }
        if let gathering = run.gathering, gathering > 0 {
            lines.append("<div class=\"muted\">\(Format.count(gathering)) gathered for the next batch</div>")
        }
        return lines.joined()
    }

    /// The page's content (`GET /v1/status-page`): counts, runs in progress, recent runs.
    static func renderContent(summary: StoreSummary, active: [RunProgress], recent: [RunRecord],
                              review: [QueryRecord] = [], categories: [String] = [], openToAll: Bool,
                              now: Date = Date()) -> String {
        let statusRows = QueryStatus.allCases.map { ($0.rawValue, summary.count($0)) }
        let categoryRows = summary.byCategory.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) }
        var html = """
            <div class="muted">\(Format.count(summary.total)) queries · updated \(timeFormatter.string(from: now)) UTC · \
            refreshes every 5 s</div>

            """
        if openToAll {
            html += """
                <div class="card warning"><b>The API is open to anyone who can reach this server</b> (--no-auth, \
                no API keys configured).</div>

                """
        }
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
                \(Format.count(run.failed)) failed · \(run.inFlight) in flight · \(String(format: "%.1f", run.rate)) queries/s · \(eta)</div>\
                \(run.paused.map { "<div class=\"warning\">Paused: \(escape($0))</div>" } ?? "")\
                \(Self.batchLines(run))</div>

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
        html += "</table></div>\n"
        html += reviewSection(review, total: summary.needsReview, categories: categories)
        return html
    }

    /// Queries flagged for review, each with its text, the model's labels and a form to correct the category.
    private static func reviewSection(_ review: [QueryRecord], total: Int, categories: [String]) -> String {
        guard !review.isEmpty else { return "" }
        var html = "<h2>Awaiting review</h2><div class=\"card\"><div class=\"muted\">\(Format.count(total)) flagged, "
            + "the first \(review.count) below; correct here or with <code>triage label ID --category NAME</code>."
            + "</div><table><tr><th>id</th><th>text</th><th>model's answer</th><th class=\"num\">confidence</th>"
            + "<th>correct to</th></tr>"
        for record in review {
            let c = record.classification
            let answer = [c?.category, c?.priority].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " · ")
            let options = categories.map { name in
                "<option\(name == c?.category ? " selected" : "")>\(escape(name))</option>"
            }.joined()
            html += """
                <tr><td>\(escape(record.id.rawValue))</td><td>\(escape(String(record.query.text.prefix(280))))</td>
                <td>\(escape(answer))</td><td class="num">\(String(format: "%.2f", c?.confidence ?? 0))</td>
                <td><form class="correct" data-id="\(escape(record.id.rawValue))"><select name="category">\(options)</select>
                <button type="submit">Save</button></form></td></tr>

                """
        }
        return html + "</table></div>\n"
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
