import TriageCore

/// Seeded mutations of valid input, for fuzz tests (tests only): the same seed gives the same inputs, so a failure
/// replays. Byte-level mutations break the syntax; value-level ones keep it and put a wrong value in one field.
public struct Mutator {
    public private(set) var generator: SeededGenerator

    public init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    /// One to three byte-level mutations of `input`: truncation, byte flips, invalid UTF-8, deleted or duplicated
    /// spans, stray delimiters, a huge field, deep nesting.
    public mutating func mutateBytes(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0: bytes = Array(bytes.prefix(at))
            case 1 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
            case 2: bytes.insert(contentsOf: [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0x00]]
                .randomElement(using: &generator)!, at: at)
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &generator)))
            case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 40)], at: at)
            case 5: bytes.insert(Array("\"{}[],:\n\r\\".utf8).randomElement(using: &generator)!, at: at)
            case 6: bytes.insert(contentsOf: Array(String(repeating: "x", count: 100_000).utf8), at: at)
            case 7:
                let depth = Int.random(in: 100...20_000, using: &generator)
                bytes.insert(contentsOf: Array(String(repeating: "[", count: depth).utf8), at: at)
            default: bytes.insert(contentsOf: Array(String(repeating: "{\"a\":", count: 5_000).utf8), at: at)
            }
        }
        return bytes
    }

    /// A value of the wrong kind for a text field: a number, a boolean, an array, an object, null, an empty string.
    public mutating func wrongValue() -> String {
        ["42", "true", "[1, 2]", #"{"nested": {"deeper": [1]}}"#, "null", #""""#, #""   ""#, "1.5"]
            .randomElement(using: &generator)!
    }

    public mutating func int(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &generator)
    }
}
