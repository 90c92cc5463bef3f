/// Why a JSON text was refused, and where: the byte offset of the first offending byte.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule the text broke.
    public enum Code: String, Sendable, Equatable {
        case empty = "empty input"
        case unexpectedEnd = "unexpected end of input"
        case unexpectedByte = "unexpected byte"
        case trailingContent = "content after the JSON value"
        case invalidLiteral = "invalid literal"
        case leadingZero = "leading zero in number"
        case invalidNumber = "invalid number"
        case numberOutOfRange = "number out of range"
        case controlCharacterInString = "unescaped control character in string"
        case invalidEscape = "invalid escape sequence"
        case loneSurrogate = "lone UTF-16 surrogate in \\u escape"
        case invalidUTF8 = "invalid UTF-8"
        case duplicateKey = "duplicate object key"
        case tooDeep = "nesting too deep"
    }

    public let code: Code
    /// Offset in bytes from the start of the input.
    public let offset: Int

    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(offset): \(code.rawValue)" }
}
