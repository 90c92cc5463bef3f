/// What the API takes as an email address: one `@`, a dotted domain, no spaces or controls.
enum EmailAddress {
    /// A plausible address: one `@`, a local part, a dotted domain, no spaces or controls.
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != "," && $0 != ";" && $0 != "<" && $0 != ">" }
    }
}
