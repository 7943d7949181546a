import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs an API client may name as a run's webhook: http(s), no user information, a host on the operator's
/// allow-list, and — unless the operator allows private addresses — a host whose every address is public (not
/// loopback, private, link-local such as cloud metadata, unspecified, …; see ``IPAddress/Restriction``).
///
/// The check runs when the run is requested (a 400 says why) and again before each delivery, since a name can
/// resolve differently later. Operator-configured URLs are trusted and not checked.
struct WebhookTargetPolicy: Sendable {
    let allowedHosts: HostPatterns
    let allowPrivateAddresses: Bool

    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// - Throws: ``Refusal`` saying why `text` may not be called.
    func check(_ text: String) async throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
            throw Refusal(description: "field 'webhook' must be an http or https URL")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw Refusal(description: "field 'webhook': port \(port) is not a TCP port (1 to 65535)")
        }
        guard url.user == nil, url.password == nil else {
            throw Refusal(description: "field 'webhook' must not carry user information")
        }
        guard !allowedHosts.isEmpty else {
            throw Refusal(description: """
                per-run webhooks are off: the operator has no webhook allow-list \
                (server.webhookHosts or TRIAGE_WEBHOOK_HOSTS)
                """)
        }
        guard allowedHosts.matches(host) else {
            throw Refusal(description: """
                field 'webhook': host '\(host)' is not on the webhook allow-list \
                (server.webhookHosts or TRIAGE_WEBHOOK_HOSTS)
                """)
        }
        guard !allowPrivateAddresses else { return }
        let addresses = await Self.resolve(host)
        guard !addresses.isEmpty else {
            throw Refusal(description: "field 'webhook': host '\(host)' does not resolve")
        }
        if let address = addresses.first(where: { $0.restriction != nil }), let restriction = address.restriction {
            throw Refusal(description: """
                field 'webhook': host '\(host)' resolves to \(address), a \(restriction.rawValue) address, which \
                webhooks may not reach unless the operator allows private addresses
                """)
        }
    }

    /// Every address `host` resolves to (a numeric host is its own address), looked up off the cooperative threads.
    static func resolve(_ host: String) async -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        return (try? await NIOThreadPool.singleton.runIfActive { lookUp(host) }) ?? []
    }

    private static func lookUp(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let list else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: Set<IPAddress> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor?.pointee {
            if entry.ai_family == AF_INET, let address = entry.ai_addr {
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    addresses.insert(IPAddress(bytes: withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) }))
                }
            } else if entry.ai_family == AF_INET6, let address = entry.ai_addr {
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    addresses.insert(IPAddress(bytes: withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) }))
                }
            }
            cursor = entry.ai_next
        }
        return Array(addresses)
    }
}
