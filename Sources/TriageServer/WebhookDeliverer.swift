import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TriageCore

/// The event POSTed when a run completes, fails or is cancelled.
public struct WebhookEvent: Sendable, Codable, Hashable {
    public struct Run: Sendable, Codable, Hashable {
        public var id: String
        public var state: RunState
        public var statistics: RunStatistics
        public var error: String?
    }

    /// Unique per event; a receiver that remembers recent ids can drop a replay.
    public var id: String
    /// `run.completed`, `run.failed` or `run.cancelled`.
    public var type: String
    public var occurredAt: Date
    public var run: Run

    public init(record: RunRecord, occurredAt: Date = Date()) {
        id = UUID().uuidString.lowercased()
        type = "run.\(record.state.rawValue)"
        self.occurredAt = occurredAt
        run = Run(id: record.id, state: record.state, statistics: record.statistics, error: record.error)
    }
}

/// Signs webhook bodies: `Triage-Signature: v1=HEX`, HMAC-SHA256 over `"\(timestamp).\(body)"` with the shared
/// secret, the timestamp (Unix seconds) sent as `Triage-Timestamp`. A receiver recomputes it, compares in constant
/// time, and rejects timestamps older than a few minutes (replays).
public enum WebhookSignature {
    public static let signatureHeader = "Triage-Signature"
    public static let timestampHeader = "Triage-Timestamp"
    public static let eventHeader = "Triage-Event-Id"

    public static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "v1=" + code.hexDigits
    }

    /// Whether `signature` is valid for `body` and `timestamp`, and the timestamp within `tolerance` of `now`.
    public static func verify(
        body: [UInt8], timestamp: Int, signature: String, secret: String,
        now: Date = Date(), tolerance: TimeInterval = 300
    ) -> Bool {
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        let expected = Array(sign(body: body, timestamp: timestamp, secret: secret).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Delivers webhook events with retries and backoff, recording every attempt. Its client follows no redirect.
struct WebhookDeliverer: Sendable {
    /// A receiver: the operator's (trusted), or one an API client named (checked again before every delivery,
    /// since its name may resolve elsewhere by then).
    struct Target: Sendable {
        let url: String
        let trusted: Bool
    }

    let client: HTTPClient
    let configuration: WebhookConfiguration
    let logger: Logger
    /// When deliveries must end whatever is left (a shutdown's grace period), once known.
    var stopBy: @Sendable () -> ContinuousClock.Instant? = { nil }

    /// Delivers `event` to each target (concurrently), retrying failures and timeouts up to the configured attempts.
    /// - Returns: Every attempt, per target in order.
    func deliver(_ event: WebhookEvent, to targets: [Target]) async -> [WebhookDelivery] {
        guard !targets.isEmpty, let body = try? JSONEncoder.triage.encode(event) else { return [] }
        return await withTaskGroup(of: [WebhookDelivery].self) { group in
            for target in targets {
                group.addTask { await deliver(Array(body), eventID: event.id, to: target) }
            }
            var all: [WebhookDelivery] = []
            for await deliveries in group { all += deliveries }
            return all
        }
    }

    private func deliver(_ body: [UInt8], eventID: String, to target: Target) async -> [WebhookDelivery] {
        let url = target.url
        let shown = Self.shown(url)
        if !target.trusted {
            do {
                try await configuration.targetPolicy.check(url)
            } catch {
                logger.info("webhook refused", metadata: ["webhook.url": "\(shown)", "error": "\(error)"])
                return [WebhookDelivery(url: shown, attempt: 1, at: Date(), status: nil, error: "refused: \(error)",
                                        delivered: false)]
            }
        }
        var deliveries: [WebhookDelivery] = []
        for attempt in 1...max(1, configuration.maxAttempts) {
            let timestamp = Int(Date().timeIntervalSince1970)
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "triage-webhooks")
            request.headers.add(name: WebhookSignature.eventHeader, value: eventID)
            request.headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
            if let secret = configuration.secret {
                request.headers.add(name: WebhookSignature.signatureHeader,
                                    value: WebhookSignature.sign(body: body, timestamp: timestamp, secret: secret))
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            var delivery = WebhookDelivery(url: shown, attempt: attempt, at: Date(), status: nil, error: nil,
                                           delivered: false)
            // One deadline for the whole attempt (connecting, the headers, the body), and none past the shutdown's:
            // a receiver that trickles its answer holds nothing longer than one that never answers.
            let attemptEnds = ContinuousClock.now + configuration.timeout
            let (client, timeout, stopBy, sent) = (client, configuration.timeout, stopBy, request)
            do {
                let status = try await withDeadline({ min(attemptEnds, stopBy() ?? attemptEnds) }) {
                    let response = try await client.execute(sent, timeout: .init(timeout))
                    _ = try? await response.body.collect(upTo: 64 * 1024)
                    return Int(response.status.code)
                }
                delivery.status = status
                delivery.delivered = (200..<300).contains(status)
                if (300..<400).contains(status) {
                    delivery.error = "HTTP \(status): webhooks follow no redirect"
                } else if !delivery.delivered {
                    delivery.error = "HTTP \(status)"
                }
            } catch let error where error is DeadlineExceeded
                        || [.deadlineExceeded, .readTimeout].contains(error as? HTTPClientError) {
                delivery.error = "no complete answer within \(configuration.timeout)"
                    + (stopBy().map { ContinuousClock.now >= $0 } == true ? " (shutting down)" : "")
            } catch {
                // The client's errors can quote the URL; only its scheme and host may show.
                delivery.error = "\(error)".replacingOccurrences(of: url, with: shown)
            }
            deliveries.append(delivery)
            logger.info("webhook delivery", metadata: [
                "webhook.url": "\(shown)", "webhook.attempt": "\(attempt)", "webhook.delivered": "\(delivery.delivered)",
                "webhook.status": "\(delivery.status.map(String.init) ?? "-")",
            ])
            // A redirect is an answer, not a failure to retry.
            let redirected = delivery.status.map { (300..<400).contains($0) } ?? false
            if delivery.delivered || redirected || attempt == configuration.maxAttempts { break }
            let retryAt = ContinuousClock.now + configuration.retryPolicy.delay(forRetry: attempt)
            // A shutdown that begins meanwhile ends the wait, and the deliveries.
            _ = try? await withDeadline({ min(retryAt, stopBy() ?? retryAt) }) { try await Task.sleep(until: retryAt) }
            if let stop = stopBy(), ContinuousClock.now >= stop { break }
        }
        return deliveries
    }

    /// The URL as records and logs show it: scheme and host only, since paths and queries carry tokens
    /// (`https://hooks.slack.com/services/T…/B…/SECRET`).
    static func shown(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              let host = components.host, !host.isEmpty else { return "(invalid URL)" }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)" + (components.port.map { ":\($0)" } ?? "")
    }
}
