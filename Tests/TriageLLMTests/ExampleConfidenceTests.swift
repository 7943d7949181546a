import Testing
import TriageCore
@testable import TriageLLM

@Suite("Confidence from retrieved examples")
struct ExampleConfidenceTests {
    static func shot(_ category: String, _ score: Double) -> (example: LabelledExample, score: Double) {
        (LabelledExample(text: "t", category: category), score)
    }

    @Test("agreement is the share of the retrieved examples' similarity that carries the answer's label")
    func agreement() {
        let shots = [Self.shot("refund", 3), Self.shot("refund", 1), Self.shot("billing", 4)]
        #expect(LLMClassifier.agreement(with: "refund", shots: shots) == 0.5)
        #expect(LLMClassifier.agreement(with: "billing", shots: shots) == 0.5)
        #expect(LLMClassifier.agreement(with: "order", shots: shots) == 0)
        #expect(LLMClassifier.agreement(with: "refund", shots: [Self.shot("refund", 2)]) == 1)
        #expect(LLMClassifier.agreement(with: "refund", shots: []) == 0, "no evidence for the answer")
    }

    @Test("confidence is the mean of the evidence's agreement and the model's probability, rounded to thousandths")
    func formula() {
        #expect(LLMClassifier.confidence(agreement: 0.5, labelProbability: 0.9) == 0.7)
        #expect(LLMClassifier.confidence(agreement: 0.25, labelProbability: nil) == 0.25)
        #expect(LLMClassifier.confidence(agreement: 0, labelProbability: 0.8) == 0.4)
        #expect(LLMClassifier.confidence(agreement: 2.0 / 3.0, labelProbability: nil) == 0.667)
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
