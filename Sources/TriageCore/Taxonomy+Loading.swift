import Foundation
import Yams

extension Taxonomy {
    /// Loads and validates a taxonomy from a JSON or YAML file (chosen by the `.json`, `.yaml` or `.yml` extension).
    /// - Throws: ``TaxonomyError`` naming the file and what is wrong with it.
    public static func load(contentsOf url: URL) throws -> Taxonomy {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TaxonomyError("\(url.path): cannot read the taxonomy file (\(error.localizedDescription))")
        }
        let taxonomy: Taxonomy
        do {
            switch url.pathExtension.lowercased() {
            case "yaml", "yml":
                taxonomy = try YAMLDecoder().decode(Taxonomy.self, from: data)
            default:
                taxonomy = try JSONDecoder().decode(Taxonomy.self, from: data)
            }
        } catch let error as DecodingError {
            throw TaxonomyError("\(url.path): \(error.readableDescription)")
        } catch {
            throw TaxonomyError("\(url.path): \(error)")
        }
        do {
            try taxonomy.validate()
        } catch let error as TaxonomyError {
            throw TaxonomyError("\(url.path): \(error.message)")
        }
        return taxonomy
    }
}

extension DecodingError {
    /// A one-line account of where decoding failed, such as `categories[2].description: missing`.
    public var readableDescription: String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var result = ""
            for key in codingPath {
                if let index = key.intValue {
                    result += "[\(index)]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return result.isEmpty ? "(top level)" : result
        }
        switch self {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
            return "\(path(context.codingPath)): \(context.debugDescription)\(underlying)"
        @unknown default:
            return "\(self)"
        }
    }
}
