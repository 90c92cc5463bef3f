/// A JSON value (RFC 8259).
///
/// Numbers keep their kind: a literal with no fraction or exponent that fits in 64 bits is an
/// ``int(_:)``, anything else a ``double(_:)``, so IDs, counts and money round-trip exactly as
/// written. Objects keep their members in document order (see ``JSONObject``).
public enum JSON: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

extension JSON {
    /// Parses one JSON text from UTF-8 bytes; see ``JSONParser`` for the rules enforced.
    public static func parse(
        _ bytes: some Collection<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth
    ) throws(JSONError) -> JSON {
        try JSONParser(maxDepth: maxDepth).parse(bytes)
    }

    /// Parses one JSON text from a string.
    public static func parse(
        _ text: String, maxDepth: Int = JSONParser.defaultMaxDepth
    ) throws(JSONError) -> JSON {
        try JSONParser(maxDepth: maxDepth).parse(Array(text.utf8))
    }

    /// The value serialized compactly as UTF-8 bytes.
    public var bytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }

    /// The value serialized compactly as a string.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

// MARK: - Accessors

extension JSON {
    /// The member named `key` when this is an object, else nil.
    public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is a number that is a whole value within `Int64`.
    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value):
            return value.rounded() == value ? Int64(exactly: value) : nil
        default: return nil
        }
    }

    /// The number as a `Double`, when this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The Boolean, when this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Equality

extension JSON: Equatable {
    /// JSON equality: numbers compare by value across ``int(_:)`` and ``double(_:)``, objects
    /// compare as unordered sets of members.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)):
            return Int64(exactly: b) == a
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

// MARK: - Literals

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}
