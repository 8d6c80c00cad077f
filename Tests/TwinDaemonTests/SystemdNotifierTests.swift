import Foundation
import Testing
@testable import TwinDaemon

@Suite("sd_notify")
struct SystemdNotifierTests {
    /// A datagram socket standing in for systemd's notify socket.
    final class TestSocket {
        let path: String
        let fd: Int32

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { throw POSIXFailure("bind \(path)") }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// The next datagram, or nil after the timeout.
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    @Test("messages arrive as datagrams on $NOTIFY_SOCKET")
    func datagrams() throws {
        let socket = try TestSocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == .seconds(2))
        notifier.ready(status: "model loaded")
        #expect(socket.receive() == "READY=1\nSTATUS=model loaded")
        notifier.watchdog()
        #expect(socket.receive() == "WATCHDOG=1")
        notifier.reloading()
        #expect(socket.receive()?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        notifier.stopping()
        #expect(socket.receive() == "STOPPING=1")
    }

    @Test("without NOTIFY_SOCKET nothing is sent and the watchdog is off")
    func disabled() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        notifier.ready(status: "x")
    }

    @Test("the daemon sends READY=1, STATUS= and STOPPING=1 over a real run")
    func daemonLifecycle() throws {
        let fixture = try DaemonFixture()
        defer { fixture.remove() }
        let socket = try TestSocket()
        try fixture.drop(DaemonFixture.job(), id: "n1")
        let result = try TwinRenderBinary.run(["serve", "--config", fixture.configURL.path, "--once"],
                                              environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
        #expect(result.status == 0)
        var messages: [String] = []
        while let m = socket.receive() {
            messages.append(m)
            if m == "STOPPING=1" { break }
        }
        #expect(messages.contains { $0.hasPrefix("READY=1\nSTATUS=") })
        #expect(messages.contains("WATCHDOG=1"))
        #expect(messages.last == "STOPPING=1")
    }
}
