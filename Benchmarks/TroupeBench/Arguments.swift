/// The bench's command line: a command followed by `--name value` options and `--name` flags
/// (an option followed by another option, or by nothing, is a flag).
struct Arguments {
    let command: String
    private let options: [String: String]

    init(_ words: [String]) {
        command = words.first ?? ""
        var options: [String: String] = [:]
        var index = 1
        while index < words.count {
            let word = words[index]
            if word.hasPrefix("--"), index + 1 < words.count, !words[index + 1].hasPrefix("--") {
                options[String(word.dropFirst(2))] = words[index + 1]
                index += 2
            } else if word.hasPrefix("--") {
                options[String(word.dropFirst(2))] = ""
                index += 1
            } else {
                index += 1
            }
        }
        self.options = options
    }

    func string(_ name: String) -> String? { options[name] }

    /// Whether `--name` was given (with or without a value).
    func has(_ name: String) -> Bool { options[name] != nil }

    func double(_ name: String, default fallback: Double) -> Double {
        options[name].flatMap(Double.init) ?? fallback
    }

    func int(_ name: String, default fallback: Int) -> Int {
        options[name].flatMap { Int($0) } ?? fallback
    }

    func ints(_ name: String, default fallback: [Int]) -> [Int] {
        options[name].map { $0.split(separator: ",").compactMap { Int($0) } } ?? fallback
    }
}
