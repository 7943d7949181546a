import Testing
import TriageCore
@testable import TriageLLM

@Suite("Confidence from retrieved examples")
struct ExampleConfidenceTests {
    static func shot(_ category: String, _ score: Double) -> (example: LabelledExample, score: Double) {
        (LabelledExample(text: "t", category: category), score)
    }

    @Test("the share of the retrieved examples' similarity that agrees with the answer")
    func agreement() {
        let shots = [Self.shot("refund", 3), Self.shot("refund", 1), Self.shot("billing", 4)]
        #expect(LLMClassifier.confidence(of: "refund", shots: shots) == 0.5)
        #expect(LLMClassifier.confidence(of: "billing", shots: shots) == 0.5)
        #expect(LLMClassifier.confidence(of: "order", shots: shots) == 0)
        #expect(LLMClassifier.confidence(of: "refund", shots: [Self.shot("refund", 2)]) == 1)
        #expect(LLMClassifier.confidence(of: "refund", shots: []) == nil, "no examples: the model's own confidence stands")
    }

    @Test("a taxonomy asking for fewer fields shortens the schema and the validator's demands")
    func fewerFields() throws {
        var taxonomy = Taxonomy.customerSupport
        taxonomy.fields = [.category]
        try taxonomy.validate()
        let prompt = ClassificationPrompt(taxonomy: taxonomy)
        guard case .object(let schema) = prompt.schema, case .array(let required)? = schema["required"] else {
            Issue.record("no schema")
            return
        }
        #expect(required == [.string("category")])
        #expect(!prompt.system.contains("Priorities:"))
        let answer = try AnswerValidator(taxonomy: taxonomy).validate(#"{"category": "billing"}"#)
        #expect(answer.category == "billing" && answer.priority == "" && answer.summary == "")
        taxonomy.fields = [.priority]
        #expect(throws: TaxonomyError.self) { try taxonomy.validate() }
    }
}
