// Role: `queue.url` parsing: the forms the fleet accepts and the errors for the rest; runs
// without a database.
// Reference: libpq connection URIs.
// Failure modes covered: other schemes, a missing database, a relative socket directory, an
// unknown parameter; the password never shows in `redacted`.

import Testing
import TwinFleet

@Suite struct FleetURLTests {
    @Test func tcpAndSocketForms() throws {
        let tcp = try FleetURL("postgres://render:s3cret@db.example:6432/twinrender")
        #expect(tcp.user == "render" && tcp.password == "s3cret" && tcp.host == "db.example" && tcp.port == 6432)
        #expect(tcp.database == "twinrender" && tcp.socketDirectory == nil)
        #expect(!tcp.redacted.contains("s3cret"))
        let socket = try FleetURL("postgresql:///fleet?host=/run/pg&user=twin&port=5433")
        #expect(socket.socketDirectory == "/run/pg" && socket.host == nil && socket.user == "twin" && socket.port == 5433)
    }

    @Test(arguments: ["mysql://u@h/db", "postgres://u@h/", "postgres:///db?host=relative", "postgres://u@h/db?sslmode=require",
                      "postgres:///db?host=/s&port=0"])
    func refused(_ text: String) {
        #expect(throws: FleetError.self) { try FleetURL(text) }
    }
}
