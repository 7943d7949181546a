import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import TriageCore
import TriageRedaction

/// Classifies queries with an LLM over HTTP: any OpenAI-compatible chat-completions endpoint, or Anthropic's
/// Messages API.
///
/// Every answer is validated against the taxonomy; an invalid one gets one repair request that quotes the problems.
/// Transient failures (429, 5xx, timeouts, resets) are retried with exponential backoff and full jitter, honouring
/// `Retry-After`, within a retry budget; requests and tokens are paced under the configured per-minute limits; the
/// tokens and cost of every request, failed and repair requests included, are counted.
public final class LLMClassifier: Classifier {
    public let taxonomy: Taxonomy
    public let configuration: LLMConfiguration
    private let client: HTTPClient
    private let api: any ChatAPI
    /// The prompt asking the model for its own confidence, and the one that does not.
    private let prompts: (asking: ClassificationPrompt, plain: ClassificationPrompt)
    private let validator: AnswerValidator
    private let limiter: RateLimiter
    private let taxonomyVersion: String
    private let examples: ExampleIndex?
    /// The examples and the categories as evidence: candidates, the examples' own answers, the confidence.
    private let finder: EvidenceFinder
    /// When the examples answer a query alone (``LLMConfiguration/answerFromExamples``), as chosen at the start
    /// and after ``calibrate(forQueries:)``; `nil` without examples.
    public var examplesDecision: ExamplesDecision? { decision.withLock { $0 } }
    private let decision: Mutex<ExamplesDecision?>
    /// The one measurement of the model, once started: later callers wait for it.
    private let calibration = Mutex<Task<ExamplesDecision.ModelMeasurement?, Never>?>(nil)
    private let logger: Logger
    /// Lowered for the rest of the run when the endpoint says it lacks a structured-output mode.
    private let mode: Mutex<LLMConfiguration.OutputMode>
    /// Whether to ask for token log-probabilities; turned off for the rest of the run when the endpoint refuses them.
    private let logprobs: Mutex<Bool>

    /// - Parameters:
    ///   - client: The shared HTTP client; its connection pool should allow as many connections as the processor's
    ///     concurrency. The caller owns it and shuts it down.
    ///   - examples: Labelled examples: for each query the most similar ``LLMConfiguration/examplesPerQuery`` go
    ///     before it as earlier turns of the conversation, and their agreement with the answer is its confidence.
    ///   - sharedLimits: The store whose other processes share the key's `rpm`/`tpm` with this one; `nil` to pace
    ///     this process alone.
    public init(configuration: LLMConfiguration, taxonomy: Taxonomy, client: HTTPClient, logger: Logger,
                examples: ExampleIndex? = nil, sharedLimits: (any RateBudgetStore)? = nil) {
        self.configuration = configuration
        self.taxonomy = taxonomy
        self.client = client
        self.logger = logger
        api = switch configuration.provider {
        case .openAI: OpenAIChatAPI()
        case .anthropic: AnthropicMessagesAPI()
        }
        prompts = (ClassificationPrompt(taxonomy: taxonomy, style: configuration.promptStyle, asksConfidence: true),
                   ClassificationPrompt(taxonomy: taxonomy, style: configuration.promptStyle, asksConfidence: false))
        validator = AnswerValidator(taxonomy: taxonomy)
        limiter = RateLimiter(
            requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute,
            shared: sharedLimits.map {
                RateLimiter.Shared(store: $0, name: RateBudget.name(endpoint: configuration.baseURL,
                                                                    apiKey: configuration.apiKey))
            }
        )
        // The provenance of a label: the taxonomy's version, and the example pool's when there is one.
        taxonomyVersion = taxonomy.version + (examples.map { "+examples:" + $0.examples.contentVersion } ?? "")
        self.examples = examples
        finder = EvidenceFinder(taxonomy: taxonomy, examples: examples, examplesPerQuery: configuration.examplesPerQuery,
                                candidates: configuration.candidates)
        let decision: ExamplesDecision = switch configuration.answerFromExamples {
        case .off: .off
        case .threshold(let threshold):
            ExamplesDecision(mode: "fixed", threshold: threshold, pool: examples?.examples.count ?? 0, measured: 0,
                             coverage: 0, accuracy: 0, note: nil)
        case .auto: finder.chooseThreshold(target: LLMConfiguration.AnswerFromExamples.autoTarget)
        }
        self.decision = Mutex(examples == nil ? nil : decision)
        mode = Mutex(configuration.outputMode)
        logprobs = Mutex(configuration.requestLogprobs && configuration.provider == .openAI)
        redactor = configuration.redacts ? Redactor() : nil
    }

    /// Replaces personal values with placeholders in everything sent (``LLMConfiguration/redacts``); `nil` when off.
    let redactor: Redactor?

    /// The query as it is sent, and what was replaced in it (`nil` when redaction is off).
    func sendable(_ query: SupportQuery) -> (query: SupportQuery, redaction: Redaction?) {
        guard let redactor else { return (query, nil) }
        let (subject, redaction) = redactor.redact(text: query.text, subject: query.subject)
        var sent = query
        sent.text = redaction.text
        sent.subject = subject
        return (sent, redaction)
    }

    /// The prompt in force: the model's own confidence is asked for only where nothing better weighs the answer,
    /// no examples to agree with it and no token probabilities to read (until the endpoint refuses them).
    private var prompt: ClassificationPrompt {
        examples == nil && !logprobs.withLock({ $0 }) ? prompts.asking : prompts.plain
    }

    /// Answers depend on the provider, the model, the prompt's style and the taxonomy with its example pool.
    public var reuseScope: String? {
        "\(configuration.provider.rawValue):\(configuration.model)|\(configuration.promptStyle)|\(taxonomyVersion)"
    }

    /// 429 answers received so far; each one slowed the whole run down.
    public var throttledResponses: Int {
        get async { await limiter.throttledResponses }
    }

    /// The conversation sent for a query, and the evidence its confidence is weighed with.
    private struct Prepared {
        var system: String
        var messages: [ChatMessage]
        /// The answer's schema: the candidates' names as the category's values, or the whole taxonomy's.
        var schema: JSONValue
        var evidence: Evidence
        /// The prompt it was written with, which the answer is validated against.
        var prompt: ClassificationPrompt
        /// Tokens the rate limiter reserves: the prompt's estimate plus the most the answer may take.
        var reserve: Int
    }

    private func prepare(_ query: SupportQuery, _ evidence: Evidence) -> Prepared {
        let prompt = prompt
        // The most similar example goes last, nearest the query: small models follow the latest turns most.
        // Every text sent is redacted here, the one place requests are written: the examples are customers'
        // queries too.
        let messages = evidence.shots.reversed().flatMap { [redactor] shot in
            [ChatMessage(role: .user, content: prompt.userMessage(
                for: SupportQuery(text: redactor?.redact(shot.example.text).text ?? shot.example.text))),
             ChatMessage(role: .assistant, content: prompt.exampleAnswer(shot.example))]
        } + [ChatMessage(role: .user, content: prompt.userMessage(for: sendable(query).query))]
        var system = prompt.system
        var schema = prompt.schema
        if let candidates = evidence.candidates {
            // A large taxonomy: only what the evidence supports, in the prompt and in the grammar.
            system = prompt.system(categories: candidates)
            schema = prompt.schema(categories: candidates)
        } else if evidence.shots.isEmpty && configuration.rankCategories && configuration.promptStyle == .full {
            system = prompt.system(categories: ranked(evidence.likeness))
        }
        let estimate = messages.map(\.content.utf8.count).reduce(system.utf8.count, +) / 4 + 8
            + configuration.maxOutputTokens
        return Prepared(system: system, messages: messages, schema: schema, evidence: evidence, prompt: prompt,
                        reserve: estimate)
    }

    /// The answer the examples give alone, with no call, when they decide it (``examplesDecision``): their
    /// leading label, with the priority and sentiment most of the agreeing examples carry, the language found in
    /// the text, and the leading label's share of the examples' similarity as the confidence.
    public func answerWithoutCall(_ query: SupportQuery) -> Classification? {
        answerFromExamples(query, finder.evidence(for: query.text))
    }

    public func calibrate(forQueries queries: Int) async -> ExamplesDecision.ModelMeasurement? {
        let sample = min(configuration.calibrationSample, examples?.examples.count ?? 0)
        guard configuration.answerFromExamples == .auto, sample > 0, queries >= 2 * sample,
              !taxonomy.asks(.summary) else { return nil }
        let (task, started) = calibration.withLock { task -> (Task<ExamplesDecision.ModelMeasurement?, Never>, Bool) in
            if let task { return (task, false) }
            let measuring = Task { await self.measureModel(sample: sample) }
            task = measuring
            return (measuring, true)
        }
        let measurement = await task.value
        return started ? measurement : nil
    }

    /// Classifies `sample` examples spread over the pool, each with the others as its examples (four at a time,
    /// through the same pacing as any query), and lowers the examples' threshold below 0.97's where their further
    /// answers are at least as accurate as the model (its 95% upper bound, when below 0.97). An answer that never
    /// validated counts wrong; a failed request measures nothing.
    private func measureModel(sample: Int) async -> ExamplesDecision.ModelMeasurement? {
        guard let pool = examples?.examples, !pool.isEmpty else { return nil }
        let step = max(1, pool.count / sample)
        let picked = Array(stride(from: step / 2, to: pool.count, by: step).prefix(sample))
        // `right` is nil for no answer from the model at all (the provider failed): that measures nothing.
        typealias Measured = (right: Bool?, requests: Int, prompt: Int, completion: Int, cost: Double)
        let answers = await withTaskGroup(of: Measured.self) { group -> [Measured] in
            var answers: [Measured] = []
            var next = picked.makeIterator()
            func measure(_ index: Int) {
                group.addTask {
                    let example = pool[index]
                    do {
                        let answer = try await self.ask(
                            SupportQuery(text: example.text),
                            evidence: self.finder.evidence(for: example.text, excluding: index),
                            id: QueryID("calibration-\(index)"))
                        return (answer.category == example.category, answer.requests ?? 1, answer.promptTokens,
                                answer.completionTokens, answer.costUSD)
                    } catch let error as ClassifierError {
                        // An answer that never validated is a wrong answer; a failed request is none.
                        return (error.isInvalidOutput ? false : nil, 1, error.promptTokens, error.completionTokens,
                                error.costUSD)
                    } catch {
                        return (nil, 0, 0, 0, 0)
                    }
                }
            }
            for _ in 0..<4 { if let index = next.next() { measure(index) } }
            while let answer = await group.next() {
                answers.append(answer)
                if let index = next.next() { measure(index) }
            }
            return answers
        }
        let measured = answers.filter { $0.right != nil }
        let correct = measured.filter { $0.right == true }.count
        // The model measured on every example picked, or not at all: an outage must not make it look wrong.
        let complete = measured.count == answers.count
        let target = complete ? min(LLMConfiguration.AnswerFromExamples.autoTarget,
                                    EvidenceFinder.upperBound(correct: correct, of: measured.count))
            : LLMConfiguration.AnswerFromExamples.autoTarget
        var chosen = finder.chooseThreshold(target: LLMConfiguration.AnswerFromExamples.autoTarget, model: target)
        let measurement = ExamplesDecision.ModelMeasurement(
            measured: measured.count, correct: correct, target: (target * 1000).rounded() / 1000,
            requests: answers.map(\.requests).reduce(0, +), promptTokens: answers.map(\.prompt).reduce(0, +),
            completionTokens: answers.map(\.completion).reduce(0, +), costUSD: answers.map(\.cost).reduce(0, +))
        guard complete else {
            // Measured again by the next run.
            calibration.withLock { $0 = nil }
            logger.warning("could not measure the model on the example pool (the provider failed): the examples are held to \(target)",
                           metadata: ["examples.measured": "\(measured.count)"])
            return measurement
        }
        chosen.model = measurement
        decision.withLock { $0 = chosen }
        logger.info("measured the model on the example pool", metadata: [
            "examples.measured": "\(measured.count)", "examples.model_correct": "\(correct)",
            "examples.target": "\(measurement.target)",
            "examples.threshold": "\(chosen.threshold.map { "\($0)" } ?? "none")",
        ])
        return measurement
    }

    /// The categories a query's prompt and schema would offer the model (most supported first), or `nil` for the
    /// whole taxonomy: what the quality bench measures candidates' recall with.
    public func candidateNames(for text: String) -> [String]? {
        finder.evidence(for: text).candidates?.map(\.name)
    }

    private func answerFromExamples(_ query: SupportQuery, _ evidence: Evidence) -> Classification? {
        guard let threshold = examplesDecision?.threshold,
              let answer = finder.examplesAnswer(evidence, threshold: threshold) else { return nil }
        var classification = Classification(
            category: answer.category, priority: answer.priority, sentiment: answer.sentiment,
            language: taxonomy.asks(.language) ? LanguageDetector.language(of: query.text, words: evidence.words) : "",
            confidence: (answer.share * 1000).rounded() / 1000, summary: "", model: "examples",
            taxonomyVersion: taxonomyVersion)
        classification.answeredBy = .examples
        return classification
    }

    /// Tokens of a text as providers' tokenizers count English and JSON: about four bytes each.
    static func tokens(_ text: String) -> Int { (text.utf8.count + 3) / 4 }

    /// The request ``classify(_:)`` would send first, counted: the system prompt, every message (examples
    /// included) with a few tokens of framing each, and the answer's schema when the output mode sends one. The
    /// answer is counted as a typical one: every asked field, the labels at their mean length, a one-line summary.
    public func estimate(_ query: SupportQuery) -> UsageEstimate? {
        let evidence = finder.evidence(for: query.text)
        if answerFromExamples(query, evidence) != nil { return .zero }
        let prepared = prepare(query, evidence)
        let framing = 4
        var promptTokens = Self.tokens(prepared.system) + framing
            + prepared.messages.map { Self.tokens($0.content) + framing }.reduce(0, +)
        if mode.withLock({ $0 }) == .jsonSchema, let schema = try? prepared.schema.encoded() {
            promptTokens += Self.tokens(String(decoding: schema, as: UTF8.self))
        }
        let completionTokens = Self.tokens(typicalAnswer) + framing
        let price = configuration.prices[configuration.model]
        let cost = price?.cost(prompt: promptTokens, completion: completionTokens) ?? 0
        return UsageEstimate(promptTokens: promptTokens, completionTokens: completionTokens, costUSD: cost,
                             batchCostUSD: cost * LLMConfiguration.batchPriceFactor)
    }

    /// An answer of typical length, for estimates.
    private var typicalAnswer: String {
        func typical(_ labels: [Taxonomy.Label]) -> JSONValue {
            let mean = labels.isEmpty ? 8 : labels.map(\.name.utf8.count).reduce(0, +) / labels.count
            return .string(String(repeating: "x", count: mean))
        }
        let asked = Set(prompt.modelFields)
        var fields: [String: JSONValue] = ["category": typical(taxonomy.categories)]
        if asked.contains(.priority) { fields["priority"] = typical(taxonomy.priorities) }
        if asked.contains(.sentiment) { fields["sentiment"] = typical(taxonomy.sentiments) }
        if asked.contains(.confidence) { fields["confidence"] = .number(0.85) }
        if asked.contains(.summary) { fields["summary"] = .string(String(repeating: "x", count: 80)) }
        return (try? JSONValue.object(fields).encoded()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    public var maxTextBytes: Int? { configuration.maxTextBytes }

    /// - Throws: ``ClassifierError/textTooLong(_:)`` for a query longer than ``LLMConfiguration/maxTextBytes``.
    private func checkLength(_ query: SupportQuery) throws(ClassifierError) {
        if let problem = query.oversized(maxTextBytes: configuration.maxTextBytes) {
            throw .textTooLong(problem)
        }
    }

    public func classify(_ request: ClassificationRequest) async throws -> Classification {
        try checkLength(request.query)
        let evidence = finder.evidence(for: request.query.text)
        if let answer = answerFromExamples(request.query, evidence) { return answer }
        return try await ask(request.query, evidence: evidence, id: request.id)
    }

    /// The model's answer to `query` with `evidence`'s examples and candidates: retried, paced, validated, repaired
    /// once.
    private func ask(_ query: SupportQuery, evidence: Evidence, id: QueryID) async throws -> Classification {
        var usage = Usage()
        var prepared = prepare(query, evidence)
        var messages = prepared.messages
        var retries = 0
        var repaired = false
        while true {
            try await limiter.acquire(tokens: prepared.reserve)
            let reply: ChatReply
            do {
                reply = try await send(system: prepared.system, messages, schema: prepared.schema)
            } catch let failure as RequestFailure {
                usage.add(failure.promptTokens, failure.completionTokens)
                switch failure.disposition {
                case .downgrade:
                    // Written again without what the endpoint lacks: a request without logprobs asks for the
                    // model's confidence.
                    prepared = prepare(query, evidence)
                    messages = prepared.messages
                    continue
                case .final(var error):
                    throw usage.charge(&error, prices: configuration.prices[configuration.model])
                case .retry(var error, let retryAfter):
                    retries += 1
                    guard retries <= configuration.retryBudget else {
                        error = error.withMessage("\(error.message) (gave up after \(retries) requests)")
                        throw usage.charge(&error, prices: configuration.prices[configuration.model])
                    }
                    let backoff = configuration.retryPolicy.delay(forRetry: retries)
                    let delay = max(backoff, retryAfter ?? .zero)
                    logger.debug("LLM request failed; retrying", metadata: [
                        "query.id": "\(id)", "llm.error": "\(error.kind)", "llm.retry_in": "\(delay)",
                    ])
                    try await Task.sleep(for: delay)
                    continue
                }
            }
            usage.add(reply)
            await limiter.correct(estimatedTokens: prepared.reserve, actualTokens: reply.promptTokens + reply.completionTokens)
            do {
                return classification(try validator.validate(reply.content, asksConfidence: prepared.prompt.asksConfidence),
                                      for: query, reply: reply, evidence: prepared.evidence, usage: usage,
                                      priceFactor: 1)
            } catch let problems as ValidationProblems {
                guard !repaired else {
                    var error = ClassifierError.invalidOutput("after one repair request: \(problems)")
                    throw usage.charge(&error, prices: configuration.prices[configuration.model])
                }
                repaired = true
                logger.debug("invalid answer; asking for a repair", metadata: [
                    "query.id": "\(id)", "llm.problems": "\(problems)",
                ])
                messages.append(ChatMessage(role: .assistant, content: reply.content))
                messages.append(ChatMessage(role: .user, content: prepared.prompt.repairMessage(problems: problems.description)))
            }
        }
    }

    /// The classification an answer makes: validated labels, the language found in the text, confidence from the
    /// evidence and the answer's own probability, what was wrong with side fields, tokens, and cost at the price
    /// times `priceFactor` (1 online, the batch factor in batch mode).
    private func classification(_ answer: ValidatedAnswer, for query: SupportQuery, reply: ChatReply,
                                evidence: Evidence, usage: Usage, priceFactor: Double) -> Classification {
        var classification = Classification(
            category: answer.category, priority: answer.priority, sentiment: answer.sentiment,
            language: taxonomy.asks(.language) ? LanguageDetector.language(of: query.text, words: evidence.words) : "",
            confidence: Self.confidence(
                agreement: Self.agreement(with: answer.category, shots: evidence.weighing),
                labelProbability: reply.tokens.flatMap {
                    LabelProbability.of(answer.category, field: "category",
                                        allowed: evidence.candidates?.map(\.name) ?? taxonomy.categoryNames, tokens: $0)
                } ?? answer.confidence
            ),
            summary: answer.summary,
            model: reply.model ?? configuration.model, taxonomyVersion: taxonomyVersion,
            promptTokens: usage.prompt, completionTokens: usage.completion,
            costUSD: usage.cost(configuration.prices[configuration.model]) * priceFactor,
            cachedPromptTokens: usage.cachedPrompt > 0 ? usage.cachedPrompt : nil
        )
        classification.answeredBy = .model
        classification.fieldProblems = answer.fieldProblems.isEmpty ? nil : answer.fieldProblems
        if let redaction = sendable(query).redaction {
            // The summary speaks of this query's values by their placeholders: they are put back, never another's.
            classification.summary = redaction.restoring(classification.summary)
            classification.redactions = redaction.namedCounts
        }
        classification.requests = usage.replies
        return classification
    }

    // MARK: - Batch mode

    /// The request ``classify(_:)`` would send first for `query`, as the body a batch line carries: the same
    /// conversation, examples and schema.
    public func requestBody(for query: SupportQuery) throws -> Data {
        try checkLength(query)
        let prepared = prepare(query, finder.evidence(for: query.text))
        return try api.body(system: prepared.system, messages: prepared.messages, schema: prepared.schema,
                            mode: mode.withLock { $0 }, logprobs: logprobs.withLock { $0 }, configuration: configuration)
    }

    /// Reads a batch line's response body (the provider's format) for `query`: validated as online answers are,
    /// its confidence weighed the same way, its tokens priced at the batch price. There is no repair request.
    /// - Throws: ``ClassifierError`` `invalidOutput` (with the tokens spent) when the answer does not validate,
    ///   `server` when the body is not the provider's format.
    public func batchClassification(from response: JSONValue, for query: SupportQuery) throws -> Classification {
        let reply: ChatReply
        do {
            reply = try api.reply(from: response)
        } catch let error as MalformedResponse {
            throw ClassifierError.server(error.description)
        }
        var usage = Usage()
        usage.add(reply)
        let price = configuration.prices[configuration.model]
        do {
            return classification(try validator.validate(reply.content, asksConfidence: prompt.asksConfidence),
                                  for: query, reply: reply, evidence: finder.evidence(for: query.text), usage: usage,
                                  priceFactor: LLMConfiguration.batchPriceFactor)
        } catch let problems as ValidationProblems {
            var error = ClassifierError.invalidOutput("\(problems)")
            error = usage.charge(&error, prices: price)
            error.costUSD *= LLMConfiguration.batchPriceFactor
            throw error
        }
    }

    /// A classification's confidence: the mean of the evidence's agreement with the answer and the model's own
    /// probability for it — the chosen label's probability from token log-probabilities, or where the endpoint
    /// returns none, the confidence the model states. docs/quality.md gives the formula and its measured calibration.
    static func confidence(agreement: Double, labelProbability: Double?) -> Double {
        let known = [agreement] + [labelProbability].compactMap { $0 }
        return (known.reduce(0, +) / Double(known.count) * 1000).rounded() / 1000
    }

    /// The share of the evidence's similarity that carries the answer's category: Σ score of the retrieved examples
    /// (or categories) labelled `category` ÷ Σ score of all retrieved; 0 when nothing shares a word with the query.
    static func agreement(with category: String, shots: [(example: LabelledExample, score: Double)]) -> Double {
        let total = shots.map(\.score).reduce(0, +)
        guard total > 0 else { return 0 }
        let agreeing = shots.filter { $0.example.category == category }.map(\.score).reduce(0, +)
        return agreeing / total
    }

    // MARK: - One HTTP request

    /// Why a request produced no reply, and what to do about it.
    private struct RequestFailure: Error {
        enum Disposition {
            case retry(ClassifierError, retryAfter: Duration?)
            case final(ClassifierError)
            /// The endpoint lacks the structured-output mode or the log-probabilities we asked for; we asked for less
            /// for the rest of the run: ask again.
            case downgrade
        }

        var disposition: Disposition
        var promptTokens = 0
        var completionTokens = 0
    }

    /// The taxonomy's categories, those sharing words with the query first (most alike first), the rest in order.
    private func ranked(_ likeness: [(example: LabelledExample, score: Double)]) -> [Taxonomy.Label] {
        let first = Set(likeness.map(\.example.category))
        return likeness.compactMap { match in taxonomy.categories.first { $0.name == match.example.category } }
            + taxonomy.categories.filter { !first.contains($0.name) }
    }

    private func send(system: String, _ messages: [ChatMessage], schema: JSONValue) async throws -> ChatReply {
        let currentMode = mode.withLock { $0 }
        let askLogprobs = logprobs.withLock { $0 }
        let body = try api.body(system: system, messages: messages, schema: schema, mode: currentMode,
                                logprobs: askLogprobs, configuration: configuration)
        let data: Data
        do {
            data = try await transport.send(.POST, api.endpoint(configuration), body: body,
                                            timeout: configuration.requestTimeout,
                                            maxResponseBytes: configuration.maxResponseBytes)
        } catch let failure as ProviderTransport.Failure {
            let error = failure.error
            if error.kind == ClassifierError.rateLimited("").kind {
                await limiter.throttled(retryAfter: failure.retryAfter)
            }
            if error.scope == .attempt {
                throw RequestFailure(disposition: .retry(error, retryAfter: failure.retryAfter))
            }
            // A 4xx that may only say the endpoint lacks something we asked for ("logprobs is not supported with
            // this model"): ask for less, and again, before taking it for what the table makes of it.
            if error.kind != ClassifierError.unauthorized("").kind {
                let message = failure.providerMessage
                if askLogprobs && message.lowercased().contains("logprob") {
                    logger.info("the endpoint refuses logprobs; asking without them")
                    logprobs.withLock { $0 = false }
                    throw RequestFailure(disposition: .downgrade)
                }
                if let lower = lowerMode(from: currentMode, because: message) {
                    logger.info("the endpoint lacks structured output mode; falling back", metadata: [
                        "llm.mode": "\(currentMode.rawValue)", "llm.fallback": "\(lower.rawValue)",
                    ])
                    throw RequestFailure(disposition: .downgrade)
                }
            }
            throw RequestFailure(disposition: .final(error))
        }
        do {
            return try api.reply(from: data)
        } catch let error as MalformedResponse {
            throw RequestFailure(disposition: .retry(.server("\(error.description) (from \(transport.host))"),
                                                     retryAfter: nil))
        }
    }

    /// Lowers the output mode if `message` says the endpoint does not support the current one.
    private func lowerMode(from current: LLMConfiguration.OutputMode, because message: String) -> LLMConfiguration.OutputMode? {
        let text = message.lowercased()
        let aboutFormat = ["response_format", "json_schema", "json_object", "structured", "tool"].contains { text.contains($0) }
        guard aboutFormat, let next = LLMConfiguration.OutputMode.allCases.first(where: { $0 > current }) else { return nil }
        return mode.withLock { mode in
            if mode == current { mode = next }
            return mode
        }
    }

    /// The one way to the provider: credentials, deadline, and one table from status to error.
    var transport: ProviderTransport {
        ProviderTransport(client: client, configuration: configuration,
                          headers: api.headers(configuration) + configuration.extraHeaders.map { ($0.key, $0.value) })
    }
}

/// Tokens spent by one classification across its requests.
private struct Usage {
    var prompt = 0
    var completion = 0
    /// Of `prompt`, read from and written to the provider's prompt cache.
    var cachedPrompt = 0
    var cacheWrite = 0
    /// Answers received: 2 when a repair request was needed.
    var replies = 0

    mutating func add(_ promptTokens: Int, _ completionTokens: Int) {
        prompt += promptTokens
        completion += completionTokens
    }

    mutating func add(_ reply: ChatReply) {
        add(reply.promptTokens, reply.completionTokens)
        replies += 1
        cachedPrompt += reply.cachedPromptTokens
        cacheWrite += reply.cacheWriteTokens
    }

    func cost(_ price: LLMConfiguration.Price?) -> Double {
        price?.cost(prompt: prompt, completion: completion, cachedPrompt: cachedPrompt, cacheWrite: cacheWrite) ?? 0
    }

    /// Puts what was spent on `error`, so that failures are paid for in the statistics too.
    func charge(_ error: inout ClassifierError, prices: LLMConfiguration.Price?) -> ClassifierError {
        error.promptTokens = prompt
        error.completionTokens = completion
        error.costUSD = cost(prices)
        return error
    }
}
