/// `--name value` and `--flag` arguments.
struct CommandFlags {
    struct Error: Swift.Error {
        let message: String
    }

    /// Flags that take no value.
    private static let switches: Set<String> = ["dev"]
    let pairs: [(String, String?)]

    init(_ arguments: [String]) throws(Error) {
        var pairs: [(String, String?)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else { throw Error(message: "unexpected argument \(argument)") }
            let name = String(argument.dropFirst(2))
            if Self.switches.contains(name) {
                pairs.append((name, nil))
                index += 1
                continue
            }
            guard index + 1 < arguments.count else { throw Error(message: "--\(name) needs a value") }
            pairs.append((name, arguments[index + 1]))
            index += 2
        }
        self.pairs = pairs
    }

    func value(_ name: String) -> String? { pairs.last { $0.0 == name }?.1 }

    func has(_ name: String) -> Bool { pairs.contains { $0.0 == name } }

    /// Refuses a flag not in `names`.
    func allow(_ names: Set<String>) throws(Error) {
        if let unknown = pairs.first(where: { !names.contains($0.0) }) { throw Error(message: "unknown flag --\(unknown.0)") }
    }
}
