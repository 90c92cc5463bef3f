/// Why a sandbox request was refused (the API maps each to its status).
public enum SandboxRefusal: Error, Sendable, Equatable {
    /// A command runs in it now (409).
    case busy(String)
    /// It is not ready: provisioning, terminating or ended (409).
    case notReady(String, SandboxRecord.Status)
    /// The workspace holds its plan's number of live sandboxes (429 naming the cap).
    case capReached(Int)
    /// The operator turned exec off (403).
    case execDisabled
    /// Full isolation cannot be had here and the operator did not choose `minimal` (403
    /// naming what is missing).
    case isolationUnavailable(String)
    /// Every uid of the range is taken by a live sandbox (503).
    case noSlotLeft
    /// The execs under way already hold the server's budget of output bytes (503).
    case outputBudgetSpent
}
