import Foundation
import MongoTestSupport
import TestSupport
import Testing

/// `triage` on MongoDB through libmongoc, against the test server (or the server `MONGODB_URI` names).
@Suite("triage on MongoDB")
struct CLIMongoTests {
    /// `--store` (and `--database` on a real server, where each test has a database of its own).
    func storeArguments(_ target: MongoTarget) -> [String] {
        if let server = target.server {
            return ["--store", server.uri(database: target.database, options: "")]
        }
        return ["--store", target.uri, "--database", target.database]
    }

    func cleanUp(_ target: MongoTarget) {
        if target.server == nil {
            _ = try? PyMongo.run("db.client.drop_database(db.name)", uri: target.uri, database: target.database)
        }
        target.server?.stop()
    }

    @Test("import 100, run with the mock classifier, stats agree, pymongo reads the results with the right types")
    func importRunStats() async throws {
        let target = try await MongoTarget.make()
        defer { cleanUp(target) }
        let store = storeArguments(target)

        let imported = try await TriageBinary.run(["import", "--count", "100"] + store)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("Imported 100 queries"))

        let run = try await TriageBinary.run(["run", "--mock-llm", "--batch-size", "20", "--max-concurrent", "8"] + store)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("classified        100"))

        let stats = try await TriageBinary.run(["stats", "--json"] + store)
        #expect(stats.status == 0, "\(stats.stderr)")
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        #expect((counts["byStatus"] as? [String: Int])?["classified"] == 100)
        #expect((counts["byStatus"] as? [String: Int])?["pending"] == 0)
        let byCategory = try #require(counts["byCategory"] as? [String: Int])
        #expect(byCategory.values.reduce(0, +) == 100)
        #expect((counts["lastRun"] as? [String: Any])?["state"] as? String == "completed")

        let seen = try PyMongo.run("""
            docs = list(db.queries.find())
            ok = all(isinstance(d["_id"], ObjectId) and isinstance(d["createdAt"], datetime.datetime)
                     and type(d["attempts"]) is int and d["attempts"] == 1 and d["status"] == "classified"
                     and isinstance(d["classification"], dict)
                     and isinstance(d["classification"]["classifiedAt"], datetime.datetime)
                     and isinstance(d["classification"]["confidence"], float) for d in docs)
            by_category = {}
            for d in docs:
                by_category[d["classification"]["category"]] = by_category.get(d["classification"]["category"], 0) + 1
            print(len(docs), ok, json.dumps(by_category, sort_keys=True))
            print(db.triage_runs.count_documents({"state": "completed"}))
            """, uri: target.uri, database: target.database).split(separator: "\n")
        let expected = String(decoding: try JSONSerialization.data(withJSONObject: byCategory, options: [.sortedKeys]), as: UTF8.self)
            .replacingOccurrences(of: ":", with: ": ").replacingOccurrences(of: ",", with: ", ")
        #expect(seen[0] == "100 True \(expected)")
        #expect(seen[1] == "1")

        let export = try await TriageBinary.run(["export", "--format", "jsonl"] + store)
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count == 100)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect((first["id"] as? String)?.count == 24)
    }

    @Test("seed-style plain documents inserted with pymongo are classified in place by triage run --collection")
    func plainDocumentsClassifiedInPlace() async throws {
        let target = try await MongoTarget.make()
        defer { cleanUp(target) }
        _ = try PyMongo.run("""
            texts = ["I was charged twice this month", "My package never arrived", "How do I reset my password?",
                     "Please cancel my subscription", "The app crashes when I open settings"]
            db.tickets.insert_many([{"text": texts[i % 5] + " (#%d)" % i,
                                     "createdAt": datetime.datetime(2026, 4, 1) + datetime.timedelta(minutes=i)}
                                    for i in range(30)])
            """, uri: target.uri, database: target.database)
        let store = storeArguments(target) + ["--collection", "tickets"]
        let dry = try await TriageBinary.run(["run", "--dry-run", "--mock-llm"] + store)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("30"))

        let run = try await TriageBinary.run(["run", "--mock-llm"] + store)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("classified         30"))
        let seen = try PyMongo.run("""
            docs = list(db.tickets.find())
            print(len(docs), sum(1 for d in docs if d.get("status") == "classified"),
                  db.tickets.find_one({"text": {"$regex": "charged twice"}})["classification"]["category"],
                  "queries" in db.list_collection_names())
            """, uri: target.uri, database: target.database)
        #expect(seen == "30 30 billing False")
    }

    @Test("an unreachable server: one clear error naming the host, the password hidden, within the timeout")
    func unreachableServer() async throws {
        let closed = try ClosedPort()
        let port = closed.port
        let started = ContinuousClock.now
        let result = try await TriageBinary.run([
            "stats", "--store", "mongodb://triage:s3cr3t-pw@127.0.0.1:\(port)/support?serverSelectionTimeoutMS=1500",
        ])
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot reach MongoDB at 127.0.0.1:\(port)"), "\(result.stderr)")
        #expect(!(result.stderr + result.stdout).contains("s3cr3t-pw"))
        #expect(result.stderr.split(separator: "\n").count <= 2, "\(result.stderr)")
        withExtendedLifetime(closed) {}
    }
}
