import Foundation

/// Writes a file through a temporary sibling that replaces it only when writing succeeded, so a failed export
/// never leaves half a file. The path `-` means standard output.
enum AtomicFile {
    static func write(to path: String, _ body: (FileHandle) async throws -> Void) async throws {
        if path == "-" {
            try await body(FileHandle.standardOutput)
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CLIError("cannot write \(path): the folder does not exist or is not writable")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try await body(handle)
            try handle.synchronize()
            if FileManager.default.fileExists(atPath: url.path) {
                _ = try FileManager.default.replaceItemAt(url, withItemAt: temporary)
            } else {
                try FileManager.default.moveItem(at: temporary, to: url)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}

extension AtomicFile {
    /// ``write(to:_:)`` when a path is given; otherwise `body` runs with no file.
    static func writeIfAsked(to path: String?, _ body: (FileHandle?) async throws -> Void) async throws {
        guard let path else { return try await body(nil) }
        try await write(to: path) { try await body($0) }
    }
}

/// An error the command line reports as it is.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
