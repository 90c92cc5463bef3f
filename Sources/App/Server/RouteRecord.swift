import TroupeCore

/// What the route wrapper learns of a request, for the log and metrics line written after it.
final class RouteRecord: Sendable {
    struct Info: Sendable {
        var route = "unmatched"
        var workspaceID: String?
        var error: String?
    }

    let info = LockedBox(Info())

    @TaskLocal static var current: RouteRecord?
}
