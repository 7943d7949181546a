import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A loopback HTTP receiver that answers slowly on purpose (tests only): what a hostile webhook receiver, or a
/// provider's broken proxy, does to hold its caller. Each shape sends a byte or a chunk every `every`, forever.
public final class TricklingReceiver: Sendable {
    public enum Shape: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Reads the request, never answers.
        case silent
        /// A status line, then headers a byte at a time.
        case trickledHeaders
        /// `200` headers, then a chunked body a chunk at a time.
        case chunkedBody
        /// `200` headers announcing a `Content-Length`, then the body a byte at a time.
        case lengthBody

        public var description: String { rawValue }
    }

    public let shape: Shape
    private let every: Duration
    private let state = Mutex((connections: 0, open: 0))
    private let port = Mutex(0)

    public init(_ shape: Shape, every: Duration = .milliseconds(100)) {
        self.shape = shape
        self.every = every
    }

    /// Connections accepted so far.
    public var connections: Int { state.withLock { $0.connections } }
    /// Connections its callers still hold open.
    public var open: Int { state.withLock { $0.open } }
    public var url: String { "http://127.0.0.1:\(port.withLock { $0 })/hook" }

    /// Runs the receiver around `body`.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        port.withLock { $0 = server.channel.localAddress?.port ?? 0 }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { connections in
                    try? await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await self.serve(connection) }
                        }
                    }
                    connections.cancelAll()
                }
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            server.channel.close(promise: nil)
            try await group.waitForAll()
            return try result.get()
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        state.withLock {
            $0.connections += 1
            $0.open += 1
        }
        defer { state.withLock { $0.open -= 1 } }
        try? await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Reading goes on (the request, then the caller closing), so that a close ends the connection.
                let (headDone, headSeen) = AsyncStream.makeStream(of: Void.self)
                group.addTask {
                    var received = ""
                    for try await chunk in inbound {
                        received += String(buffer: chunk)
                        if received.contains("\r\n\r\n") { headSeen.yield() }
                    }
                    throw CancellationError()
                }
                group.addTask { [shape, every] in
                    for await _ in headDone { break }
                    let (start, unit): (String, String) = switch shape {
                    case .silent: ("", "")
                    case .trickledHeaders: ("HTTP/1.1 200 OK\r\nX-Slow: ", "a")
                    case .chunkedBody: ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n")
                    case .lengthBody: ("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "x")
                    }
                    if !start.isEmpty { try await outbound.write(ByteBuffer(string: start)) }
                    while true {
                        try await Task.sleep(for: every)
                        if !unit.isEmpty { try await outbound.write(ByteBuffer(string: unit)) }
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }
}
