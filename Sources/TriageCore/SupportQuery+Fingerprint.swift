import Crypto
import Foundation

extension SupportQuery {
    /// A stable identifier derived from the query's content (`fp-` and 16 hex digits), used as the `externalId` of
    /// imported records that have none, so that importing the same file twice adds nothing twice.
    public var contentFingerprint: String {
        let fields = [text, subject ?? "", channel ?? "", customerId ?? ""].joined(separator: "\u{1F}")
        let digest = SHA256.hash(data: Data(fields.utf8))
        return "fp-" + digest.prefix(8).hexDigits
    }
}

extension SupportQuery {
    /// The key under which this query's answer may be reused by an identical query: a hash of its text, lower-cased
    /// with runs of whitespace made one space and the ends trimmed, and of `scope` (the classifier's model, taxonomy
    /// version and example pool: ``Classifier/reuseScope``). Subject, channel and the rest are not part of it.
    public func reuseKey(scope: String) -> String {
        // ASCII text, the common case, normalised as bytes: splitting by Character was most of the key's time.
        let normalised: String
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            for byte in text.utf8 {
                if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                    if let last = bytes.last, last != 0x20 { bytes.append(0x20) }
                } else {
                    bytes.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
                }
            }
            if bytes.last == 0x20 { bytes.removeLast() }
            normalised = String(decoding: bytes, as: UTF8.self)
        } else {
            normalised = text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        }
        let digest = SHA256.hash(data: Data((scope + "\u{1F}" + normalised).utf8))
        return "rk-" + digest.prefix(16).hexDigits
    }
}
