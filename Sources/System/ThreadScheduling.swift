import CSystem
import Glibc

/// The scheduling class of the calling thread.
public enum ThreadScheduling {
    /// Moves the calling thread to SCHED_IDLE (sched(7)): it runs only on CPU no other thread
    /// wants. For background work that may wait (a long read). The errno when it could not
    /// (the thread then keeps its class), else nil.
    public static func makeCurrentThreadIdle() -> Int32? {
        troupe_schedule_current_thread_idle() == 0 ? nil : errno
    }
}
