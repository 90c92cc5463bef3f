// swift-tools-version:6.0
// Troupe: one binary, no package dependencies — the toolchain and the system libsqlite3 only.
import PackageDescription

let package = Package(
    name: "troupe",
    products: [
        .library(name: "TroupeCore", targets: ["TroupeCore"]),
        .library(name: "TroupePersistence", targets: ["TroupePersistence"]),
        .library(name: "TroupeSystem", targets: ["TroupeSystem"]),
        .library(name: "TroupeTransport", targets: ["TroupeTransport"]),
        .library(name: "TroupeActors", targets: ["TroupeActors"]),
        .library(name: "TroupeApp", targets: ["TroupeApp"]),
        .executable(name: "troupe", targets: ["troupe"]),
        .executable(name: "troupe-bench", targets: ["TroupeBench"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "TroupeCore", path: "Sources/Core"),
        .target(
            name: "TroupePersistence",
            dependencies: ["TroupeCore", "CSQLite"],
            path: "Sources/Persistence"
        ),
        .target(
            name: "TroupeActors",
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeSystem"],
            path: "Sources/Actors"
        ),
        .target(name: "CSystem", path: "Sources/CSystem"),
        // The operating system, once: system calls, epoll loops, child processes.
        .target(name: "TroupeSystem", dependencies: ["TroupeCore", "CSystem"], path: "Sources/System"),
        .target(name: "TroupeTransport", dependencies: ["TroupeCore", "TroupeSystem", "CSystem"], path: "Sources/Transport"),
        .target(
            name: "TroupeApp",
            // CSystem for the password hasher's threads (core pinning, SCHED_IDLE).
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeActors", "TroupeTransport", "CSystem"],
            path: "Sources/App"
        ),
        .executableTarget(name: "troupe", dependencies: ["TroupeApp"], path: "Sources/troupe"),
        // The load generator of `troupe-bench load`: scenarios, schedules, histograms, drivers.
        .target(name: "TroupeLoad", dependencies: ["TroupeCore", "TroupeSystem", "TroupeTransport"], path: "Benchmarks/TroupeLoad"),
        .executableTarget(
            name: "TroupeBench",
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeSystem", "TroupeTransport", "TroupeActors", "TroupeApp", "TroupeLoad"],
            path: "Benchmarks/TroupeBench"
        ),
        // TroupeBench so that `swift test` builds the `troupe-bench` whose exit codes are tested.
        .testTarget(name: "TroupeLoadTests", dependencies: ["TroupeCore", "TroupeLoad", "TroupeBench", "TroupeTestSupport"], path: "Tests/LoadTests"),
        .testTarget(
            name: "TroupeAppTests",
            // troupe is a dependency so that `swift test` builds the binary the restart tests start.
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeTransport", "TroupeActors", "TroupeApp", "troupe", "TroupeTestSupport"],
            path: "Tests/AppTests"
        ),
        // Helpers the test targets share (running Python's independent implementations).
        .target(name: "TroupeTestSupport", dependencies: ["TroupeTransport"], path: "Tests/Support"),
        .testTarget(name: "TroupeCoreTests", dependencies: ["TroupeCore", "TroupeTestSupport"], path: "Tests/CoreTests"),
        .testTarget(
            name: "TroupeActorsTests",
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeActors", "TroupeTestSupport"],
            path: "Tests/ActorsTests"
        ),
        .testTarget(
            name: "TroupeSystemTests",
            dependencies: ["TroupeCore", "TroupeSystem", "TroupeTestSupport"],
            path: "Tests/SystemTests"
        ),
        .testTarget(
            name: "TroupeTransportTests",
            dependencies: ["TroupeCore", "TroupeTransport", "TroupeTestSupport"],
            path: "Tests/TransportTests"
        ),
        .testTarget(
            name: "TroupePersistenceTests",
            // TroupeBench is a dependency so that `swift test` builds `troupe-bench`, whose
            // `crash-writer` command the crash-safety test starts and kills.
            dependencies: ["TroupeCore", "TroupePersistence", "TroupeBench"],
            path: "Tests/PersistenceTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
