#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as bytes, and whether it is one a server must not be made to call: loopback, private,
/// shared (carrier-grade NAT), link-local (where cloud metadata services live), unspecified, multicast or reserved.
/// IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by that address.
struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    enum Restriction: String, Sendable {
        case loopback, `private`, shared, linkLocal = "link-local", unspecified, multicast, reserved
    }

    /// 4 bytes for IPv4, 16 for IPv6.
    let bytes: [UInt8]

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses a numeric address (`10.0.0.1`, `::1`, `[::1]`); `nil` for anything else.
    init?(_ text: String) {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    /// Why a server must not call this address, or `nil` for a public one.
    var restriction: Restriction? {
        bytes.count == 4 ? Self.restriction(v4: bytes) : restrictionV6
    }

    private var restrictionV6: Restriction? {
        let b = bytes
        let zeros = { (range: Range<Int>) in b[range].allSatisfy { $0 == 0 } }
        if zeros(0..<16) { return .unspecified }
        if zeros(0..<15) && b[15] == 1 { return .loopback }
        // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d
        if zeros(0..<10) && b[10] == 0xff && b[11] == 0xff { return Self.restriction(v4: Array(b[12..<16])) }
        if zeros(0..<12) { return Self.restriction(v4: Array(b[12..<16])) }
        // IPv4-translated ::ffff:0:a.b.c.d (SIIT) reaches the IPv4 address too.
        if zeros(0..<8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0 {
            return Self.restriction(v4: Array(b[12..<16]))
        }
        // Local-use NAT64 64:ff9b:1::/48 translates to whatever the site's translator chooses.
        if b[0..<6] == [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] { return .private }
        // NAT64 64:ff9b::/96 and 6to4 2002:AABB:CCDD::/48 reach the IPv4 address they embed.
        if b[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return Self.restriction(v4: Array(b[12..<16])) }
        if b[0] == 0x20 && b[1] == 0x02 { return Self.restriction(v4: Array(b[2..<6])) }
        if b[0] == 0xff { return .multicast }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return .linkLocal }       // fe80::/10
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return .private }         // fec0::/10, the old site-local
        if b[0] & 0xfe == 0xfc { return .private }                         // fc00::/7, unique local
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return .reserved }  // 2001:db8::/32
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0 { return .reserved }        // Teredo 2001::/32
        if b[0..<6] == [0x20, 0x01, 0x00, 0x02, 0x00, 0x00] { return .reserved }                // 2001:2::/48
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] & 0xf0 == 0x10 { return .reserved } // ORCHID 2001:10::/28
        if b[0] == 0x01 && b[1] == 0 && zeros(2..<8) { return .reserved }                       // discard 100::/64
        if b[0] == 0x3f && b[1] == 0xff && b[2] & 0xf0 == 0 { return .reserved }               // documentation 3fff::/20
        if b[0] == 0x5f && b[1] == 0 { return .reserved }                                       // SRv6 SIDs 5f00::/16
        return nil
    }

    private static func restriction(v4 b: [UInt8]) -> Restriction? {
        switch (b[0], b[1]) {
        case (0, _): return .unspecified                                   // 0.0.0.0/8
        case (127, _): return .loopback                                    // 127.0.0.0/8
        case (10, _), (172, 16...31), (192, 168): return .private
        case (100, 64...127): return .shared                               // 100.64.0.0/10
        case (169, 254): return .linkLocal                                 // 169.254.0.0/16
        case (224...239, _): return .multicast
        case (240...255, _): return .reserved                              // incl. 255.255.255.255
        case (192, 0) where b[2] == 0 || b[2] == 2: return .reserved       // 192.0.0.0/24, 192.0.2.0/24
        case (198, 18...19): return .reserved                              // benchmarking
        case (192, 88) where b[2] == 99: return .reserved                  // 6to4 relay anycast 192.88.99.0/24
        case (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: return .reserved
        default: return nil
        }
    }

    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &copy, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(cString: text)
    }
}
