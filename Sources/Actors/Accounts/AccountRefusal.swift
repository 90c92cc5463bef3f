/// A change to accounts, members, keys or locks that the rules refuse: an answer, not a fault.
/// The server shows it as API.md's 403, 404 or 409 with its message.
public struct AccountRefusal: Error, Sendable, Equatable {
    /// Which of API.md's answers it is: 403, 404, 409, or 429 for a count at its cap.
    public enum Code: Sendable, Equatable {
        case forbidden, notFound, conflict, limitReached
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
