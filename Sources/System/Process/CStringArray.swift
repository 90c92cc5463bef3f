import Glibc

/// A NULL-terminated array of C strings (argv, envp), freed with the value.
final class CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    /// Strings must hold no NUL byte (callers check): C would see them cut there.
    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    /// Whether every string was copied (`strdup` fails only when memory runs out).
    var complete: Bool { (0..<count).allSatisfy { pointers[$0] != nil } }

    var cArray: UnsafePointer<UnsafeMutablePointer<CChar>?> { UnsafePointer(pointers) }

    deinit {
        for index in 0..<count { free(pointers[index]) }
        pointers.deallocate()
    }
}
