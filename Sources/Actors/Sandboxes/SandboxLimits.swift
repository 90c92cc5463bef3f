import TroupeCore
import TroupeSystem

/// A sandbox's `resource_limits` (API.md, "Sandboxes"): each field optional on input, checked
/// against its range where it is parsed, the default filled in where absent.
public struct SandboxLimits: Sendable, Equatable {
    public var cpuSeconds: Int
    public var memoryMB: Int
    public var wallTimeoutMS: Int
    public var maxOutputBytes: Int

    /// Each field's JSON name, default and range.
    public struct Field: Sendable {
        public let name: String
        public let defaultValue: Int
        public let range: ClosedRange<Int>
        let keyPath: WritableKeyPath<SandboxLimits, Int> & Sendable
    }

    public static let fields: [Field] = [
        Field(name: "cpu_seconds", defaultValue: 10, range: 1...3_600, keyPath: \.cpuSeconds),
        Field(name: "memory_mb", defaultValue: 512, range: 16...16_384, keyPath: \.memoryMB),
        Field(name: "wall_timeout_ms", defaultValue: 30_000, range: 100...3_600_000, keyPath: \.wallTimeoutMS),
        Field(name: "max_output_bytes", defaultValue: 1_048_576, range: 1...1_048_576, keyPath: \.maxOutputBytes),
    ]

    /// Every field at its default.
    public static let defaults = SandboxLimits(cpuSeconds: 10, memoryMB: 512, wallTimeoutMS: 30_000, maxOutputBytes: 1_048_576)

    /// What every command gets besides: a file may grow to 64 MiB, at most 64 processes (per
    /// sandbox where sandboxes have uids or user namespaces of their own), 256 open files.
    public static let fileSizeBytes = 64 << 20
    public static let processes = 64
    public static let openFiles = 256
    /// The least address space one process gets: `memory_mb` is split among fewer processes
    /// rather than below this.
    public static let minimumProcessMB = 16

    /// How many processes the sandbox may run: `memory_mb` bounds them all together, so each
    /// gets an equal share of address space (RLIMIT_AS) of at least ``minimumProcessMB``.
    public var processCount: Int { max(1, min(Self.processes, memoryMB / Self.minimumProcessMB)) }

    public init(cpuSeconds: Int, memoryMB: Int, wallTimeoutMS: Int, maxOutputBytes: Int) {
        self.cpuSeconds = cpuSeconds
        self.memoryMB = memoryMB
        self.wallTimeoutMS = wallTimeoutMS
        self.maxOutputBytes = maxOutputBytes
    }

    /// Parses `value` (an object, or null/absent for all defaults) found at `path`; each wrong
    /// field is a problem `(field, message)`.
    public static func parse(_ value: JSON?, at path: String = "resource_limits") -> (limits: SandboxLimits, problems: [(String, String)]) {
        var limits = defaults
        guard let value, !value.isNull else { return (limits, []) }
        guard let object = value.objectValue else { return (limits, [(path, "\(path) must be an object.")]) }
        var problems: [(String, String)] = []
        let names = Set(fields.map(\.name))
        for key in object.keys.sorted() where !names.contains(key) {
            problems.append(("\(path).\(key)", "\(path) has no field \(key); it takes \(fields.map(\.name).joined(separator: ", "))."))
        }
        for field in fields {
            guard let given = object[field.name], !given.isNull else { continue }
            guard let number = given.intValue.flatMap({ Int(exactly: $0) }), field.range.contains(number) else {
                problems.append(("\(path).\(field.name)",
                                 "\(field.name) must be an integer from \(field.range.lowerBound) to \(field.range.upperBound)."))
                continue
            }
            limits[keyPath: field.keyPath] = number
        }
        return (limits, problems)
    }

    /// The limits of a workflow's `sandbox` step: its `resource_limits` (a value stored before
    /// the ranges were checked is brought into its range), `wall_timeout_ms` defaulting to the
    /// step's `timeout_ms`.
    public static func forStep(_ given: JSONObject, timeoutMilliseconds: Int64) -> SandboxLimits {
        var limits = defaults
        for field in fields {
            let value = given[field.name]?.intValue ?? (field.name == "wall_timeout_ms" ? timeoutMilliseconds : nil)
            guard let value else { continue }
            let bounded = min(max(value, Int64(field.range.lowerBound)), Int64(field.range.upperBound))
            limits[keyPath: field.keyPath] = Int(bounded)
        }
        return limits
    }

    public var json: JSON {
        .object(JSONObject(Self.fields.map { ($0.name, .int(Int64(self[keyPath: $0.keyPath]))) }))
    }

    /// The rlimits of a command in the sandbox: at most ``processCount`` processes either way.
    /// In a control group of its own (`inCgroup`), which bounds all its processes' memory
    /// together, each process may use the whole of `memory_mb`; else `memory_mb` is divided
    /// among them, so that all of them together stay within it.
    public func processLimits(inCgroup: Bool) -> ProcessLimits {
        ProcessLimits(cpuSeconds: cpuSeconds, addressSpaceBytes: (memoryMB << 20) / (inCgroup ? 1 : processCount),
                      fileSizeBytes: Self.fileSizeBytes, processes: processCount, openFiles: Self.openFiles)
    }

    /// The bounds of the sandbox's control group: `memory_mb`, and ``processCount`` plus the
    /// launcher and its helper, which are in it too.
    public var cgroupBounds: (memoryBytes: Int, processes: Int) { (memoryMB << 20, processCount + 2) }
}
