import ArgumentParser

/// `--json`, for commands that print a result a machine may read.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON on standard output instead of a table.")
    var json = false
}
