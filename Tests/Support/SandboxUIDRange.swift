import Synchronization

/// A range of sandbox uids for one test server (`sandbox_uid_base`), never another's in this
/// test process: a server's start-up sweep and the tests' leftover checks go by these uids, so
/// two servers sharing any would kill or count each other's commands.
public enum SandboxUIDRange {
    private static let taken = Mutex<Set<UInt32>>([])

    /// A base aligned to the 65,536 uids a server may give out, from 1,000,000 up.
    public static func freshBase() -> UInt32 {
        taken.withLock { taken in
            while true {
                let index = UInt32.random(in: 0..<60_000)
                if taken.insert(index).inserted { return 1_000_000 + index * 65_536 }
            }
        }
    }
}
