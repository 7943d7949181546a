import Testing
import TriageCore

@Suite("StoreLocation")
struct StoreLocationTests {
    @Test("store URIs parse", arguments: [
        ("sqlite:./triage.sqlite", StoreLocation.sqliteFile(path: "./triage.sqlite")),
        ("sqlite:///tmp/x.db", .sqliteFile(path: "/tmp/x.db")),
        ("sqlite::memory:", .sqliteMemory),
        ("mongodb://u:p@localhost:27017/support", .mongodb(uri: "mongodb://u:p@localhost:27017/support")),
        ("mongodb+srv://cluster.example.net/db", .mongodb(uri: "mongodb+srv://cluster.example.net/db")),
    ])
    func parses(uri: String, expected: StoreLocation) throws {
        #expect(try StoreLocation(parsing: uri) == expected)
    }

    @Test("bad store URIs are refused with the reason, passwords hidden",
          arguments: ["postgres://admin:hunter2@db/x", "sqlite:", "triage.sqlite", ""])
    func refuses(uri: String) {
        let error = #expect(throws: StoreError.self) { try StoreLocation(parsing: uri) }
        #expect(error?.isInvalidLocation == true)
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test("passwords never show in descriptions")
    func redacts() throws {
        let location = try StoreLocation(parsing: "mongodb://admin:s3cret@host1,host2/db?replicaSet=rs0")
        #expect(location.description == "mongodb://admin:***@host1,host2/db?replicaSet=rs0")
        #expect(StoreLocation.redact("mongodb://user@host/db") == "mongodb://user@host/db")
        #expect(StoreLocation.redact("mongodb://host/db?replicaSet=rs0") == "mongodb://host/db?replicaSet=rs0")
    }

    @Test("a password with URI delimiters in it is masked whole", arguments: [
        ("mongodb://user:Pa?ss@host/db", "mongodb://user:***@host/db"),
        ("mongodb://user:PW8@secret@host", "mongodb://user:***@host"),
        ("mongodb://user:a/b@c@h1:27017,h2/db?w=1", "mongodb://user:***@h1:27017,h2/db?w=1"),
        ("mongodb+srv://u:p#q@cluster.example.net", "mongodb+srv://u:***@cluster.example.net"),
        ("mongodb://user:Pa?ss=1&x@host/db", "mongodb://user:***@host/db"),
        ("mongodb://us/er:pw@host", "mongodb://***@host"),
        ("mongodb://host/db?tlsCertificateKeyFilePassword=kf-secret&w=1",
         "mongodb://host/db?tlsCertificateKeyFilePassword=***&w=1"),
        ("mongodb://host/?authMechanismProperties=AWS_SESSION_TOKEN:tok-secret",
         "mongodb://host/?authMechanismProperties=***"),
    ])
    func masksAwkwardPasswords(uri: String, shown: String) throws {
        #expect(StoreLocation.redact(uri) == shown)
        #expect(try StoreLocation(parsing: uri).description == shown)
    }
}
