/// The console's files, embedded in the binary: plain HTML, one style sheet and ES modules, with
/// no build step, framework or CDN. Each is a Swift string in a file of its own
/// (`ConsoleFiles+*.swift`), edited as the file it serves.
enum ConsoleFiles {
    /// The files under `/console/`, by name (the page itself is `/console`).
    static let byName: [String: ConsoleAsset] = Dictionary(
        uniqueKeysWithValues: [icon, style, api, dom, app, runs, run, schedules, work, audit, settings].map { ($0.name, $0) })
}
