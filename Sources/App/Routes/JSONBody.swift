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

    /// A whole-number field within `range`: 400 if not a number; 422 if a fraction, out of
    /// range (however large: nothing is converted before it is checked), or required and absent.
    mutating func integer(_ field: String, in range: ClosedRange<Int64>, required: Bool = false) throws(APIError) -> Int64? {
        guard let value = object[field], !value.isNull else {
            if required { problem(field, "\(field) is required.") }
            return nil
        }
        return try Self.integer(value, field: field, in: range, problems: &problems)
    }

    /// A number field within `range`: 400 if not a number, 422 if outside it.
    mutating func number(_ field: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let value = object[field], !value.isNull else { return nil }
        return try Self.number(value, field: field, in: range, problems: &problems)
    }

    /// `value` as a whole number within `range`, or nil with a 422 problem for `field`.
    static func integer(_ value: JSON, field: String, in range: ClosedRange<Int64>, problems: inout [APIError.FieldError]) throws(APIError) -> Int64? {
        guard let number = value.doubleValue else { throw APIError(.invalidRequest, "\(field) must be a number.") }
        let outOfRange = APIError.FieldError(field: field, message: "\(field) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        // `intValue` is exact for an integer literal and nil for a fraction or a value past Int64.
        guard let whole = value.intValue else {
            problems.append(number.rounded() == number ? outOfRange : APIError.FieldError(field: field, message: "\(field) must be a whole number."))
            return nil
        }
        guard range.contains(whole) else {
            problems.append(outOfRange)
            return nil
        }
        return whole
    }

    /// `value` as a number within `range`, or nil with a 422 problem for `field`.
    static func number(_ value: JSON, field: String, in range: ClosedRange<Double>, problems: inout [APIError.FieldError]) throws(APIError) -> Double? {
        guard let number = value.doubleValue else { throw APIError(.invalidRequest, "\(field) must be a number.") }
        guard number.isFinite, range.contains(number) else {
            problems.append(APIError.FieldError(field: field, message: "\(field) must be a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))."))
            return nil
        }
        return number
    }

    /// The bound of one member of a nested object of numbers.
    enum Bound {
        case integer(ClosedRange<Int64>)
        case number(ClosedRange<Double>)
    }

    /// A nested object (`usage`, `budget`) whose members are numbers within `bounds`: each read
    /// with its bound (a 422 problem outside it), a null kept when `nullable`; a member not in
    /// `bounds` is 400. `prefix` is how a problem names the member (`usage.`).
    mutating func numbers(_ object: JSONObject, bounds: [String: Bound], prefix: String, nullable: Bool) throws(APIError) -> JSONObject {
        var numbers = JSONObject()
        for member in object {
            let field = prefix + member.key
            guard let bound = bounds[member.key] else {
                throw APIError(.invalidRequest, "\(field) is not one of \(bounds.keys.sorted().joined(separator: ", ")).")
            }
            if nullable, member.value.isNull {
                numbers[member.key] = .null
                continue
            }
            switch bound {
            case .integer(let range):
                if let value = try Self.integer(member.value, field: field, in: range, problems: &problems) { numbers[member.key] = .int(value) }
            case .number(let range):
                if let value = try Self.number(member.value, field: field, in: range, problems: &problems) { numbers[member.key] = .double(value) }
            }
        }
        return numbers
    }

    private static func format(_ bound: Double) -> String {
        bound.rounded() == bound && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
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
