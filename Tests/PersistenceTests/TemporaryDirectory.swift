import Foundation
import TroupeCore

/// A fresh folder under the system's temporary directory, removed when the test is done with it.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "troupe-tests-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path for a database file inside the folder.
    func file(_ name: String = "test.db") -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
