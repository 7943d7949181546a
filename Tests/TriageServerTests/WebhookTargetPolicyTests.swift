import Testing
@testable import TriageServer

/// The checks behind webhook targets, as unit tests: no request is ever sent to the addresses they name.
@Suite("Webhook target policy")
struct WebhookTargetPolicyTests {
    @Test("address rules: loopback, private, link-local, unspecified, multicast and IPv4-mapped are refused",
          arguments: [
              ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
              ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
              ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
              ("100.64.0.1", "shared"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
              ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("0.1.2.3", "unspecified"),
              ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("255.255.255.255", "reserved"),
              ("240.0.0.1", "reserved"), ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
              ("::ffff:10.0.0.1", "private"), ("::ffff:0:0", "unspecified"), ("64:ff9b::a9fe:a9fe", "link-local"),
              ("2002:a9fe:a9fe::1", "link-local"), ("::127.0.0.1", "loopback"),
              // Special-purpose blocks (IANA's registries): translation, discard, Teredo, benchmarking, ORCHID,
              // documentation, SRv6, the 6to4 relay.
              ("::ffff:0:7f00:1", "loopback"), ("::ffff:0:a9fe:a9fe", "link-local"), ("64:ff9b:1::8.8.8.8", "private"),
              ("100::1", "reserved"), ("2001::1", "reserved"), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"),
              ("2001:2::1", "reserved"), ("2001:10::1", "reserved"), ("2001:1f::1", "reserved"), ("3fff::1", "reserved"),
              ("3fff:fff::1", "reserved"), ("5f00::1", "reserved"), ("192.88.99.1", "reserved"),
          ])
    func addressRules(address: String, kind: String) throws {
        let parsed = try #require(IPAddress(address), "\(address) did not parse")
        #expect(parsed.restriction?.rawValue == kind, "\(address)")
    }

    @Test("public addresses pass", arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "192.169.0.1",
                                               "2001:4860:4860::8888", "2001:20::1", "3fff:1000::1", "5f01::1",
                                               "192.88.98.1", "64:ff9b:2::1",
                                               "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "9.255.255.255"])
    func publicAddresses(address: String) throws {
        let parsed = try #require(IPAddress(address))
        #expect(parsed.restriction == nil, "\(address)")
    }

    @Test("host patterns: exact names and *.domain, case-insensitive, never a suffix trick")
    func hostPatterns() {
        let patterns = HostPatterns(["hooks.example.com", "*.example.org"])
        for host in ["hooks.example.com", "HOOKS.example.com", "a.example.org", "a.b.example.org", "hooks.example.com."] {
            #expect(patterns.matches(host), "\(host)")
        }
        for host in ["example.org", "evilexample.org", "a.example.org.evil.com", "hooks.example.com.evil.com",
                     "xhooks.example.com", ""] {
            #expect(!patterns.matches(host), "\(host)")
        }
        #expect(!HostPatterns([]).matches("anything"))
    }

    @Test("names that resolve to loopback are refused however they are spelled")
    func resolvedNames() async throws {
        let policy = WebhookTargetPolicy(allowedHosts: HostPatterns(["localhost", "2130706433", "0x7f.1", "127.1"]),
                                         allowPrivateAddresses: false)
        for url in ["http://localhost:9/x", "http://2130706433:9/x", "http://0x7f.1:9/x", "http://127.1:9/x"] {
            await #expect(throws: WebhookTargetPolicy.Refusal.self, "\(url)") { try await policy.check(url) }
        }
        let error = await #expect(throws: WebhookTargetPolicy.Refusal.self) { try await policy.check("ftp://localhost/x") }
        #expect(error?.description.contains("http") == true)
        // A port past 65535 is no port: refused before any look-up (the allow-list would pass the host).
        let open = WebhookTargetPolicy(allowedHosts: HostPatterns(["hooks.example"]), allowPrivateAddresses: true)
        for url in ["http://hooks.example:65536/x", "http://hooks.example:99999/x", "http://hooks.example:0/x"] {
            let refused = await #expect(throws: WebhookTargetPolicy.Refusal.self, "\(url)") { try await open.check(url) }
            #expect(refused?.description.contains("port") == true, "\(url): \(String(describing: refused))")
        }
    }
}
