import Foundation
import TwinBase
import Testing
@testable import TwinDaemon

@Suite("sd_notify")
struct SystemdNotifierTests {
    /// A datagram socket standing in for systemd's notify socket: a file path, or a name in the
    /// abstract namespace (what `$NOTIFY_SOCKET` names with a leading `@`).
    final class TestSocket {
        /// The value for `$NOTIFY_SOCKET`.
        let notifyPath: String
        let fd: Int32
        private let filePath: String?

        init(abstract: Bool = false) throws {
            let name = "notify-\(UUID().uuidString.prefix(8))"
            let bytes: [UInt8]
            if abstract {
                notifyPath = "@twinrender-test-\(name)"
                filePath = nil
                bytes = [0] + Array("twinrender-test-\(name)".utf8)
            } else {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).sock").path
                notifyPath = path
                filePath = path
                bytes = Array(path.utf8) + [0]
            }
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard rc == 0 else { throw SystemCallError("bind", notifyPath) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            if let filePath { unlink(filePath) }
        }

        /// The next datagram, or nil after the timeout.
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }

        /// The next datagram if one is already queued (no waiting).
        func pending() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    /// The daemon run's result, handed from the thread that waits for it.
    final class Outcome: @unchecked Sendable {
        var value: Result<(status: Int32, output: String), any Error>?
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    @Test("each call sends exactly its datagram on $NOTIFY_SOCKET", arguments: [false, true])
    func datagrams(abstract: Bool) throws {
        let socket = try TestSocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.notifyPath, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(2))
        notifier.ready(status: "model loaded")
        #expect(socket.receive() == "READY=1\nSTATUS=model loaded")
        notifier.status("queue 0 waiting, 0 active; idle")
        #expect(socket.receive() == "STATUS=queue 0 waiting, 0 active; idle")
        notifier.watchdog()
        #expect(socket.receive() == "WATCHDOG=1")
        let before = Self.monotonicMicroseconds()
        notifier.reloading()
        let after = Self.monotonicMicroseconds()
        let reloading = try #require(socket.receive())
        let prefix = "RELOADING=1\nMONOTONIC_USEC="
        #expect(reloading.hasPrefix(prefix), "\(reloading)")
        let usec = try #require(UInt64(reloading.dropFirst(prefix.count)), "\(reloading)")
        #expect(before <= usec && usec <= after)
        notifier.stopping()
        #expect(socket.receive() == "STOPPING=1")
        #expect(socket.pending() == nil, "one datagram per call")
    }

    @Test("NOTIFY_SOCKET unset or empty: disabled; the watchdog follows WATCHDOG_USEC and WATCHDOG_PID")
    func disabledAndWatchdog() throws {
        #expect(!SystemdNotifier(environment: [:]).isEnabled)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]).isEnabled)
        #expect(SystemdNotifier(environment: [:]).watchdogInterval == nil)
        let socket = try TestSocket()
        let base = ["NOTIFY_SOCKET": socket.notifyPath]
        #expect(SystemdNotifier(environment: base).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: base.merging(["WATCHDOG_USEC": "0"]) { $1 }).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: base.merging(["WATCHDOG_USEC": "soon"]) { $1 }).watchdogInterval == nil)
        let mine = base.merging(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid())"]) { $1 }
        #expect(SystemdNotifier(environment: mine).watchdogInterval == .milliseconds(1500))
        // A watchdog meant for another process (e.g. the parent that exec'd us) is not ours.
        let other = base.merging(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid() + 1)"]) { $1 }
        #expect(SystemdNotifier(environment: other).watchdogInterval == nil)
        // A disabled notifier's calls are no-ops (and do not crash).
        let disabled = SystemdNotifier(environment: ["NOTIFY_SOCKET": ""])
        disabled.ready(status: "x")
        disabled.stopping()
        #expect(socket.pending() == nil)
    }

    @Test("the daemon sends READY=1 first, then WATCHDOG=1 and queue STATUS= lines, then STOPPING=1")
    func daemonLifecycle() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let socket = try TestSocket()
        try fixture.drop(DaemonFixture.job(), id: "n1")
        // Read while the daemon runs: a notify socket holds only net.unix.max_dgram_qlen (often
        // 10) datagrams, and a daemon whose sends block on a full queue never exits.
        let args = ["serve", "--config", fixture.configURL.path, "--once"]
        let environment = ["NOTIFY_SOCKET": socket.notifyPath, "WATCHDOG_USEC": "1000000"]
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            outcome.value = Result { try TwinRenderBinary.run(args, environment: environment) }
            finished.signal()
        }.start()
        var messages: [String] = []
        while let m = socket.receive() {
            messages.append(m)
            if m == "STOPPING=1" { break }
        }
        try #require(finished.wait(timeout: .now() + 120) == .success, "the daemon did not exit; datagrams \(messages)")
        let result = try #require(outcome.value).get()
        #expect(result.status == 0, "\(result.output)")
        #expect(socket.pending() == nil, "nothing after STOPPING=1")
        #expect(messages.first == "READY=1\nSTATUS=model tiny-test loaded; 1 jobs waiting", "\(messages)")
        #expect(messages.last == "STOPPING=1", "\(messages)")
        let middle = messages.dropFirst().dropLast()
        #expect(middle.contains("WATCHDOG=1"), "\(messages)")
        let status = #/STATUS=queue \d+ waiting, \d+ active; (idle|rendering \S+ image \d+/\d+ step \d+/\d+)/#
        for m in middle {
            #expect(m == "WATCHDOG=1" || m.wholeMatch(of: status) != nil, "unexpected datagram \(m.debugDescription)")
        }
    }
}
