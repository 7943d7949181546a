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
