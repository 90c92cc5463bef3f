import TroupeCore
import TroupeTransport

/// A request's JSON object body, read field by field: a field of the wrong JSON type or one
/// the route does not know is 400 `invalid_request`; a missing or out-of-rule value is
/// collected as a 422 field error, all reported together by ``finish()``.
struct JSONBody {
    private let object: JSONObject
    private var problems: [APIError.FieldError] = []

    /// Parses the body. An empty body reads as `{}`; anything sent must be `application/json`.
    init(_ request: HTTPRequest, allowed: Set<String>) throws(APIError) {
        let object = try Self.object(request)
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw APIError(.invalidRequest, "Unknown field \"\(unknown)\"; this route accepts \(allowed.sorted().joined(separator: ", ")).")
        }
        self.object = object
    }

    /// The body as a JSON object, whatever its fields: `{}` when empty; 415 unless JSON; 400
    /// unless an object.
    static func object(_ request: HTTPRequest) throws(APIError) -> JSONObject {
        guard !request.body.isEmpty else { return JSONObject() }
        if let type = request.headers["Content-Type"],
            type.split(separator: ";").first.map({ $0.trimmingSpaces.lowercased() }) != "application/json"
        {
            throw APIError(.unsupportedMediaType, "Send the body as application/json.")
        }
        let json: JSON
        do {
            json = try JSON.parse(request.body)
        } catch {
            throw APIError(.invalidRequest, "The body is not valid JSON: \(error).")
        }
        guard let object = json.objectValue else { throw APIError(.invalidRequest, "The body must be a JSON object.") }
        return object
    }

    /// Throws the collected 422 if any rule was broken.
    func finish() throws(APIError) {
        if !problems.isEmpty { throw APIError.validation(problems) }
    }

    /// Whether `field` was sent (so an empty value can be told from a missing one).
    func has(_ field: String) -> Bool { object[field] != nil }

    mutating func problem(_ field: String, _ message: String) {
        problems.append(APIError.FieldError(field: field, message: message))
    }

    /// A string field; nil when absent (or null), a 422 when required and absent, or when
    /// longer than `maxLength` characters.
    mutating func string(_ field: String, required: Bool = false, maxLength: Int = 1024) throws(APIError) -> String? {
        guard let value = object[field], !value.isNull else {
            if required { problem(field, "\(field) is required.") }
            return nil
        }
        guard let text = value.stringValue else { throw APIError(.invalidRequest, "\(field) must be a string.") }
        if text.count > maxLength {
            problem(field, "\(field) must be at most \(maxLength) characters.")
            return nil
        }
        return text
    }

    mutating func array(_ field: String, required: Bool = false) throws(APIError) -> [JSON]? {
        guard let value = object[field], !value.isNull else {
            if required { problem(field, "\(field) is required.") }
            return nil
        }
        guard let array = value.arrayValue else { throw APIError(.invalidRequest, "\(field) must be an array.") }
        return array
    }

    /// A number field; nil when absent or null (``has(_:)`` tells them apart from a value).
    mutating func number(_ field: String) throws(APIError) -> Double? {
        guard let value = object[field], !value.isNull else { return nil }
        guard let number = value.doubleValue, number.isFinite else { throw APIError(.invalidRequest, "\(field) must be a number.") }
        return number
    }

    /// A whole-number field within `range`; 400 if not a whole number, 422 if out of range or
    /// required and absent.
    mutating func integer(_ field: String, in range: ClosedRange<Int64>, required: Bool = false) throws(APIError) -> Int64? {
        guard let value = object[field], !value.isNull else {
            if required { problem(field, "\(field) is required.") }
            return nil
        }
        guard let number = value.intValue else { throw APIError(.invalidRequest, "\(field) must be a whole number.") }
        guard range.contains(number) else {
            problem(field, "\(field) must be from \(range.lowerBound) to \(range.upperBound).")
            return nil
        }
        return number
    }

    /// A field's JSON as sent, for a nested value checked by its own parser.
    func raw(_ field: String) -> JSON? { object[field] }

    /// A field naming one of `E`'s cases.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ field: String, required: Bool = false, as type: E.Type)
        throws(APIError) -> E? where E.RawValue == String
    {
        guard let text = try string(field, required: required) else { return nil }
        guard let value = E(rawValue: text) else {
            problem(field, "\(field) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        return value
    }

    /// An RFC 3339 time field.
    mutating func timestamp(_ field: String) throws(APIError) -> Timestamp? {
        guard let text = try string(field, maxLength: 64) else { return nil }
        guard let stamp = Timestamp(rfc3339: text) else {
            problem(field, "\(field) must be an RFC 3339 time such as 2026-05-19T09:00:00.000Z.")
            return nil
        }
        return stamp
    }
}
