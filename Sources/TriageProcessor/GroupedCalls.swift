/// A group commit: calls that arrive while a group is being served wait, and are then served together in one call
/// of `body`. A lone call is served at once, so grouping adds no wait; under load, the store sees one write (or one
/// look-up) for everything that landed meanwhile instead of one per query.
actor GroupedCalls<Input: Sendable, Output: Sendable> {
    /// Serves a group: one output per input, in order. A throw fails every call of the group.
    typealias Body = @Sendable ([Input]) async throws -> [Output]

    private let body: Body
    private let maxGroup: Int
    private var waiting: [(input: Input, continuation: CheckedContinuation<Output, any Error>)] = []
    private var serving = false

    init(maxGroup: Int = 500, _ body: @escaping Body) {
        self.body = body
        self.maxGroup = max(1, maxGroup)
    }

    func callAsFunction(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((input, continuation))
            if !serving {
                serving = true
                Task { await serve() }
            }
        }
    }

    private func serve() async {
        while !waiting.isEmpty {
            let group = Array(waiting.prefix(maxGroup))
            waiting.removeFirst(group.count)
            do {
                let outputs = try await body(group.map(\.input))
                precondition(outputs.count == group.count, "a group's body must answer every call")
                for (call, output) in zip(group, outputs) { call.continuation.resume(returning: output) }
            } catch {
                for call in group { call.continuation.resume(throwing: error) }
            }
        }
        serving = false
    }
}
