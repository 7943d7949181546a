import NIOCore
import Synchronization
import NIOPosix

/// Sends an HTTP/1.1 request byte for byte over a fresh loopback connection (tests only). Unlike an HTTP client, it
/// keeps the request target exactly as written (`//v1/stats`, `/v1/./stats`, `/v1%2Fstats`) and sends any `Host`,
/// which is what an attacker does.
public enum RawHTTPClient {
    public struct Response: Sendable {
        public let status: Int
        /// The status line and headers, as received.
        public let head: String
        public let body: String

        /// A header's value, by case-insensitive name.
        public func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().lazy
                .compactMap { line -> (Substring, Substring)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (line[..<colon], line[line.index(after: colon)...])
                }
                .first { $0.0.lowercased() == name.lowercased() }
                .map { String($0.1.drop { $0 == " " }) }
        }
    }

    /// Sends `method target` with `headers` (and `Host: 127.0.0.1:PORT` unless `headers` has one) and `body`.
    /// - Throws: When the connection fails or no answer arrives within `timeout`.
    public static func send(
        _ method: String, _ target: String, port: Int, headers: [(String, String)] = [], body: String? = nil,
        timeout: Duration = .seconds(20)
    ) async throws -> Response {
        var head = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { head += "Host: 127.0.0.1:\(port)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.utf8.count)\r\n" }
        let request = head + "Connection: close\r\n\r\n" + (body ?? "")
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask { try await exchange(request, port: port) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let response = try await group.next() ?? nil else { throw TimedOut() }
            return response
        }
    }

    /// Opens a connection, sends `parts` one by one `every` apart (nothing at all for none: an idle socket; a head
    /// cut short: slowloris), and waits at most `timeout` for the server to close it.
    /// - Returns: How long after connecting the server closed the connection (`nil`: still open at `timeout`),
    ///   and what it sent.
    public static func hold(sending parts: [String] = [], every: Duration = .zero, port: Int,
                            timeout: Duration) async throws -> (closedAfter: Duration?, received: String) {
        let started = ContinuousClock.now
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch ChannelError.ioOnClosedChannel {
            // Closed by the server before this side had the channel (a stalled test on a loaded machine).
            return (ContinuousClock.now - started, "")
        }
        let outcome = Mutex<(closedAfter: Duration?, received: String)>((nil, ""))
        // Closing a channel the server closed first is an error here, and the point of the test.
        try? await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: (closedAfter: Duration?, received: String)?.self) { group in
                group.addTask {
                    for part in parts {
                        try? await outbound.write(ByteBuffer(string: part))
                        try await Task.sleep(for: every)
                    }
                    try await Task.sleep(for: .seconds(3600))
                    return nil
                }
                group.addTask {
                    var received = ByteBuffer()
                    do {
                        for try await chunk in inbound { received.writeImmutableBuffer(chunk) }
                    } catch {}
                    return (ContinuousClock.now - started, String(buffer: received))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return (nil, "")
                }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let next {
                        outcome.withLock { $0 = next }
                        return
                    }
                }
            }
        }
        return outcome.withLock { $0 }
    }

    struct TimedOut: Error {}
    struct Malformed: Error, CustomStringConvertible {
        let text: String
        var description: String { "not an HTTP response: \(text.prefix(200))" }
    }

    private static func exchange(_ request: String, port: Int) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var received = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            for try await chunk in inbound { received.writeImmutableBuffer(chunk) }
        }
        let text = String(buffer: received)
        guard let split = text.range(of: "\r\n\r\n"),
              let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else {
            throw Malformed(text: text)
        }
        return Response(status: status, head: String(text[..<split.lowerBound]),
                        body: String(text[split.upperBound...]))
    }
}
