import Dispatch
import Foundation

/// Waits for the first of some signals (SIGTERM, SIGINT), delivered through Dispatch so no
/// handler runs in signal context.
final class SignalWaiter {
    private let sources: [any DispatchSourceSignal]
    private let fired = DispatchSemaphore(value: 0)

    init(signals: [Int32]) {
        let fired = fired
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { fired.signal() }
            source.resume()
            return source
        }
    }

    /// Returns once a signal has arrived.
    func wait() async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [fired] in
                fired.wait()
                continuation.resume()
            }
        }
        for source in sources { source.cancel() }
    }
}
