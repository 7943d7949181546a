import ArgumentParser

/// `triage`: classify customer-support queries with an LLM, in batches, on MongoDB or SQLite.
@main
struct Triage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Classify customer-support queries with an LLM, in batches.",
        discussion: """
            Queries live in a store (SQLite by default, no server needed). Import them, run the classifier over \
            the backlog, then export or inspect the results:

              triage import --count 200          # or: triage import --file queries.jsonl
              triage run --mock-llm              # classify everything pending
              triage stats
              triage export --format csv --output results.csv

            Or see the whole workflow at once: triage demo
            """,
        version: "0.1.0",
        subcommands: [Run.self, Work.self, Serve.self, Classify.self, Eval.self, Import.self, Export.self, Stats.self, Label.self, Requeue.self, Batches.self, Config.self, Demo.self]
    )
}
