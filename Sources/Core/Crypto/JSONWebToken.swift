/// JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515 compact serialization).
///
/// Only HS256 is accepted: a header naming any other algorithm — `none` included — is refused
/// before the signature is looked at (RFC 8725 §3.1).
public struct JSONWebToken: Sendable {
    /// Why a token was refused.
    public struct Error: Swift.Error, Sendable, Equatable {
        public enum Code: String, Sendable {
            case malformed
            case unsupportedAlgorithm
            case badSignature
            case expired
            case notYetValid
        }

        public let code: Code
        public let message: String
    }

    private let mac: HMACSHA256
    private static let header = Base64URL.encode(#"{"alg":"HS256","typ":"JWT"}"#.utf8)

    public init(secret: some Collection<UInt8>) {
        mac = HMACSHA256(key: secret)
    }

    /// `header.payload.signature` for `claims`.
    public func sign(_ claims: JSONObject) -> String {
        let signingInput = Self.header + "." + Base64URL.encode(JSON.object(claims).bytes)
        return signingInput + "." + Base64URL.encode(mac.authenticationCode(for: signingInput))
    }

    /// The claims of a token this key signed and that is valid at `now` (`exp` and `nbf`, in
    /// Unix seconds, checked when present).
    public func verify(_ token: some StringProtocol, now: Timestamp) throws(Error) -> JSONObject {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Error(code: .malformed, message: "a token has three dot-separated parts") }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = try? JSON.parse(headerBytes).objectValue else {
            throw Error(code: .malformed, message: "the token's header is not base64url JSON")
        }
        guard header["alg"]?.stringValue == "HS256" else {
            throw Error(code: .unsupportedAlgorithm, message: "only HS256 tokens are accepted")
        }
        guard let signature = Base64URL.decode(parts[2]) else {
            throw Error(code: .malformed, message: "the token's signature is not base64url")
        }
        let expected = mac.authenticationCode(for: Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)))
        guard ConstantTime.equals(signature, expected) else {
            throw Error(code: .badSignature, message: "the token's signature does not match")
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), let claims = try? JSON.parse(payloadBytes).objectValue else {
            throw Error(code: .malformed, message: "the token's payload is not a base64url JSON object")
        }
        let seconds = now.microsecondsSinceEpoch / 1_000_000
        if let exp = claims["exp"] {
            guard let expiry = exp.intValue ?? exp.doubleValue.flatMap({ Int64(exactly: $0.rounded(.down)) }) else {
                throw Error(code: .malformed, message: "the token's exp is not a number")
            }
            guard seconds < expiry else { throw Error(code: .expired, message: "the token has expired") }
        }
        if let nbf = claims["nbf"] {
            guard let notBefore = nbf.intValue ?? nbf.doubleValue.flatMap({ Int64(exactly: $0.rounded(.up)) }) else {
                throw Error(code: .malformed, message: "the token's nbf is not a number")
            }
            guard seconds >= notBefore else { throw Error(code: .notYetValid, message: "the token is not valid yet") }
        }
        return claims
    }
}
