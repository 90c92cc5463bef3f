import Glibc
import TroupeCore

/// Where the server puts its sandboxes' control groups: a group of its own (`troupe-<tag>`)
/// under the one it was started in, with the memory and pids controllers, found once at start.
///
/// cgroup v2 is used where the server's group offers both controllers; else the v1 `memory` and
/// `pids` hierarchies where both are mounted and writable. Where neither (a container without
/// a writable cgroupfs, a user outside a delegated group), ``probe(tag:)`` says why, and the
/// sandbox falls back to dividing `memory_mb` among its processes with rlimits.
public struct SandboxCgroups: Sendable, Equatable {
    public enum Version: Sendable, Equatable {
        case v2
        case v1
    }

    public let version: Version
    /// The server's group for sandboxes in each hierarchy: one for v2; memory's, then pids', for v1.
    let bases: [String]

    /// One sandbox's group (not made until ``SandboxCgroup/create(memoryBytes:processes:)``).
    public func group(named name: String) -> SandboxCgroup {
        SandboxCgroup(version: version, directories: bases.map { "\($0)/\(name)" })
    }

    /// The names of the sandbox groups present in any hierarchy (a previous server's too), for
    /// the start-up sweep.
    public func groupNames() -> [String] {
        var names: Set<String> = []
        for base in bases {
            guard let directory = opendir(base) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if entry.pointee.d_type == UInt8(DT_DIR), !name.hasPrefix(".") { names.insert(name) }
            }
        }
        return names.sorted()
    }

    /// Removes the server's groups for sandboxes when no sandbox has one in them (the server
    /// stops); while one has, they stay for the next start.
    public func removeIfUnused() {
        for base in bases.reversed() where groupNames().isEmpty { rmdir(base) }
    }

    /// The sandboxes' groups of this server (named by `tag`, which the sandbox root decides, so
    /// that two servers on one host never sweep each other's), or why there can be none.
    public static func probe(tag: String) -> Result<SandboxCgroups, CgroupUnavailable> {
        let membership = KernelFile.read("/proc/self/cgroup") ?? ""
        let mounts = CgroupMount.all()
        var reasons: [String] = []
        if let unified = mounts.first(where: { $0.isUnified }), let own = CgroupFiles.ownPath(membership, controller: nil) {
            switch probeV2(directory: unified.directory(of: own), tag: tag) {
            case .success(let cgroups): return .success(cgroups)
            case .failure(let reason): reasons.append("cgroup v2: \(reason.description)")
            }
        }
        switch probeV1(membership: membership, mounts: mounts, tag: tag) {
        case .success(let cgroups): return .success(cgroups)
        case .failure(let reason): reasons.append("cgroup v1: \(reason.description)")
        }
        return .failure(CgroupUnavailable(description: reasons.joined(separator: "; ")))
    }

    private static func probeV2(directory: String, tag: String) -> Result<SandboxCgroups, CgroupUnavailable> {
        let offered = Set((KernelFile.read("\(directory)/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        guard offered.isSuperset(of: ["memory", "pids"]) else {
            return .failure(CgroupUnavailable(description: "the server's group \(directory) does not offer memory and pids"))
        }
        let base = "\(directory)/troupe-\(tag)"
        do throws(SystemCallError) {
            try CgroupFiles.makeDirectory(base)
            // A group that hands controllers to its children may hold no process itself: the
            // server moves into a leaf of its own when its group holds it.
            if case .failure(let error) = CgroupFiles.attempt("\(directory)/cgroup.subtree_control", "+memory +pids") {
                guard error.errno == EBUSY else { throw error }
                let leaf = "\(directory)/troupe-server"
                try CgroupFiles.makeDirectory(leaf)
                try CgroupFiles.write("\(leaf)/cgroup.procs", "0")
                try CgroupFiles.write("\(directory)/cgroup.subtree_control", "+memory +pids")
            }
            try CgroupFiles.write("\(base)/cgroup.subtree_control", "+memory +pids")
        } catch {
            return .failure(CgroupUnavailable(description: error.description))
        }
        return .success(SandboxCgroups(version: .v2, bases: [base]))
    }

    private static func probeV1(membership: String, mounts: [CgroupMount], tag: String) -> Result<SandboxCgroups, CgroupUnavailable> {
        var bases: [String] = []
        for controller in ["memory", "pids"] {
            guard let mount = mounts.first(where: { $0.controllers.contains(controller) }),
                  let own = CgroupFiles.ownPath(membership, controller: controller) else {
                return .failure(CgroupUnavailable(description: "no \(controller) hierarchy is mounted"))
            }
            let base = "\(mount.directory(of: own))/troupe-\(tag)"
            do {
                try CgroupFiles.makeDirectory(base)
            } catch {
                return .failure(CgroupUnavailable(description: error.description))
            }
            bases.append(base)
        }
        return .success(SandboxCgroups(version: .v1, bases: bases))
    }
}

/// Why the server has no control groups to give its sandboxes.
public struct CgroupUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}
