import Dispatch
import TroupeCore

/// Hashes and checks passwords with PBKDF2-HMAC-SHA256, on threads of its own: at 600,000
/// rounds a hash takes a good fraction of a second, which must not stall an event loop or the
/// cooperative pool.
struct PasswordHasher: Sendable {
    let iterations: Int
    private static let queue = DispatchQueue(label: "troupe.passwords", attributes: .concurrent)

    /// A new salt and the password's hash.
    func hash(_ password: String) async -> (hash: [UInt8], salt: [UInt8]) {
        let salt = SecretGenerator.bytes(16)
        let hash = await derive(password, salt: salt, iterations: iterations)
        return (hash, salt)
    }

    /// Whether `password` matches; the comparison takes the same time wherever they differ.
    func verify(_ password: String, hash: [UInt8], salt: [UInt8], iterations: Int) async -> Bool {
        ConstantTime.equals(await derive(password, salt: salt, iterations: iterations), hash)
    }

    private func derive(_ password: String, salt: [UInt8], iterations: Int) async -> [UInt8] {
        await withCheckedContinuation { continuation in
            Self.queue.async {
                continuation.resume(returning: PBKDF2.deriveKey(password: Array(password.utf8), salt: salt, iterations: iterations))
            }
        }
    }
}
