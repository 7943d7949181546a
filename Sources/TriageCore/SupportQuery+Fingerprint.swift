import Crypto
import Foundation

extension SupportQuery {
    /// A stable identifier derived from the query's content (`fp-` and 16 hex digits), used as the `externalId` of
    /// imported records that have none, so that importing the same file twice adds nothing twice.
    public var contentFingerprint: String {
        let fields = [text, subject ?? "", channel ?? "", customerId ?? ""].joined(separator: "\u{1F}")
        let digest = SHA256.hash(data: Data(fields.utf8))
        return "fp-" + digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
