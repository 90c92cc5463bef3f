import Foundation
import Testing
import TroupeTestSupport
import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct JSONWebTokenTests {
    private let signer = JSONWebToken(secret: Array("a-secret-of-at-least-32-bytes-long!!".utf8))
    private let now = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)

    /// RFC 7515 Appendix A.1: the HS256 example, verified with the key of A.1.1.
    @Test func rfc7515AppendixA1() throws {
        let key = try #require(Base64URL.decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"))
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let beforeExpiry = Timestamp(microsecondsSinceEpoch: 1_300_819_379 * 1_000_000)
        let claims = try JSONWebToken(secret: key).verify(token, now: beforeExpiry)
        #expect(claims["iss"] == "joe")
        #expect(claims["http://example.com/is_root"] == true)
        let afterExpiry = Timestamp(microsecondsSinceEpoch: 1_300_819_380 * 1_000_000)
        let error = #expect(throws: JSONWebToken.Error.self) { try JSONWebToken(secret: key).verify(token, now: afterExpiry) }
        #expect(error?.code == .expired)
    }

    @Test func signedClaimsVerifyAndRoundTrip() throws {
        let claims = JSONObject([("sub", "usr_1"), ("ws", "ws_1"), ("exp", .int(1_800_000_060))])
        let token = signer.sign(claims)
        #expect(try signer.verify(token, now: now) == claims)
    }

    @Test func refusesAlgNoneEvenWithoutASignature() {
        let header = Base64URL.encode(#"{"alg":"none","typ":"JWT"}"#.utf8)
        let payload = Base64URL.encode(#"{"sub":"usr_1"}"#.utf8)
        #expect(code(of: "\(header).\(payload).") == .unsupportedAlgorithm)
    }

    @Test func refusesOtherAlgorithmsSignedWithTheSameSecret() {
        let header = Base64URL.encode(#"{"alg":"HS512","typ":"JWT"}"#.utf8)
        let payload = Base64URL.encode(#"{"sub":"usr_1"}"#.utf8)
        let input = "\(header).\(payload)"
        let signature = Base64URL.encode(HMACSHA256(key: Array("a-secret-of-at-least-32-bytes-long!!".utf8)).authenticationCode(for: input))
        #expect(code(of: "\(input).\(signature)") == .unsupportedAlgorithm)
    }

    @Test func refusesATokenSignedWithAnotherSecret() {
        let forged = JSONWebToken(secret: Array("another-secret-another-secret-0000".utf8)).sign(JSONObject([("sub", "usr_1")]))
        #expect(code(of: forged) == .badSignature)
    }

    @Test func refusesAnEditedPayload() {
        let token = signer.sign(JSONObject([("role", "viewer")]))
        let parts = token.split(separator: ".")
        let edited = "\(parts[0]).\(Base64URL.encode(#"{"role":"owner"}"#.utf8)).\(parts[2])"
        #expect(code(of: edited) == .badSignature)
    }

    @Test(arguments: ["", "a", "a.b", "a.b.c.d", "!!.e30.sig", "e30.e30.***", "bm90IGpzb24.e30.AA"])
    func refusesMalformedTokens(token: String) {
        #expect(code(of: token) == .malformed || code(of: token) == .unsupportedAlgorithm)
    }

    @Test func expiryAndNotBeforeAreChecked() {
        #expect(code(of: signer.sign(JSONObject([("exp", .int(1_800_000_000))]))) == .expired)
        #expect(code(of: signer.sign(JSONObject([("nbf", .int(1_800_000_001))]))) == .notYetValid)
        #expect(code(of: signer.sign(JSONObject([("exp", .string("tomorrow"))]))) == .malformed)
        #expect(code(of: signer.sign(JSONObject([("exp", .double(1e300))]))) == .malformed)
    }

    /// Interop: Python's `pyjwt` decodes our token and we verify one it signed. Skipped when
    /// python3 or pyjwt is not installed (CI installs it with pip, and there it must run).
    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("jwt")), "python3 with pyjwt (CI installs it)"))
    func interoperatesWithPyJWT() async throws {
        let token = signer.sign(JSONObject([("sub", "usr_1"), ("exp", .int(4_000_000_000))]))
        let decoded = await runPython("""
            import jwt, sys
            print(jwt.decode(sys.argv[1], 'a-secret-of-at-least-32-bytes-long!!', algorithms=['HS256'])['sub'])
            """, arguments: [token])
        #expect(decoded.status == 0)
        #expect(decoded.output.trimmingCharacters(in: .whitespacesAndNewlines) == "usr_1")
        let signed = await runPython("""
            import jwt
            print(jwt.encode({'sub': 'usr_2', 'exp': 4000000000}, 'a-secret-of-at-least-32-bytes-long!!', algorithm='HS256'))
            """)
        let claims = try signer.verify(signed.output.trimmingCharacters(in: .whitespacesAndNewlines), now: now)
        #expect(claims["sub"] == "usr_2")
    }

    private func code(of token: String) -> JSONWebToken.Error.Code? {
        do {
            _ = try signer.verify(token, now: now)
            return nil
        } catch {
            return error.code
        }
    }
}
