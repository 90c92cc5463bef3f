import Glibc

/// The priority of processes the server is ending. A command runs at nice 19 (SCHED_BATCH, a
/// share of 15 against a normal thread's 1024): on a busy host one that is killed waited
/// seconds for the CPU moment its exit needs (its end, the command's `duration_ms`, and its
/// sandbox's end waited with it). Raised back to nice 0 as it is signalled, it exits at once.
/// Lowering a nice value needs `CAP_SYS_NICE` (root has it); without it this changes nothing,
/// and the process still exits, later.
public enum ProcessPriority {
    /// Raises every process of process group `group` (a command's launcher and the command).
    public static func raiseToExit(group: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PGRP.rawValue), id_t(bitPattern: group), 0)
    }

    /// Raises one process.
    public static func raiseToExit(pid: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(bitPattern: pid), 0)
    }
}
