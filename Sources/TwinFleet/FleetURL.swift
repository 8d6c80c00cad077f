// Role: parses `queue.url` into a PostgresNIO client configuration. Accepted forms:
// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (TCP, no TLS) and
// `postgres:///DATABASE?host=/socket/dir&user=USER[&port=N]` (a unix socket `DIR/.s.PGSQL.PORT`,
// libpq's convention). `postgresql://` is the same scheme.
// Reference: libpq connection URIs (PostgreSQL docs §34.1.1), the subset a render host needs.
// Failure modes: anything else (other schemes, no database, unknown query keys, a bad port) is
// `FleetError.badURL` naming the problem; the password never appears in errors or `redacted`.

import Foundation
import PostgresNIO

/// Where the fleet database is, parsed from `queue.url`.
public struct FleetURL: Sendable, Equatable {
    /// Database user.
    public let user: String
    /// Password, if the URL carries one.
    public let password: String?
    /// Database name.
    public let database: String
    /// TCP host, or nil for a unix socket.
    public let host: String?
    /// Server port (also names the socket file).
    public let port: Int
    /// Directory holding the server's unix socket, when `host=` names one.
    public let socketDirectory: String?

    /// Parses `text`. - Throws: `FleetError.badURL`.
    public init(_ text: String) throws {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw FleetError.badURL("expected postgres://USER@HOST/DATABASE or postgres:///DATABASE?host=/socket/dir")
        }
        var user = parts.user.map { $0.removingPercentEncoding ?? $0 }
        var port = parts.port ?? 5432
        var socketDirectory: String?
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "host": socketDirectory = item.value
            case "user": user = item.value
            case "port":
                guard let value = item.value.flatMap(Int.init), (1...65535).contains(value) else {
                    throw FleetError.badURL("port must be 1...65535")
                }
                port = value
            default: throw FleetError.badURL("unknown parameter \(item.name.debugDescription)")
            }
        }
        let database = String(parts.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw FleetError.badURL("no database name in the path") }
        if let dir = socketDirectory, !dir.hasPrefix("/") { throw FleetError.badURL("host= must be an absolute socket directory") }
        let host = parts.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || socketDirectory != nil else { throw FleetError.badURL("no host and no host=/socket/dir") }
        self.user = user ?? "postgres"
        self.password = parts.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.host = socketDirectory == nil ? host : nil
        self.port = port
        self.socketDirectory = socketDirectory
    }

    /// The URL with its password left out, for logs and errors.
    public var redacted: String {
        if let socketDirectory { return "postgres:///\(database)?host=\(socketDirectory)&port=\(port)&user=\(user)" }
        return "postgres://\(user)@\(host ?? ""):\(port)/\(database)"
    }

    /// The same server with another database (tests create one database per test).
    public func with(database: String) -> FleetURL { FleetURL(copying: self, database: database) }

    private init(copying other: FleetURL, database: String) {
        user = other.user; password = other.password; self.database = database
        host = other.host; port = other.port; socketDirectory = other.socketDirectory
    }

    /// The PostgresNIO client configuration for this URL.
    var clientConfiguration: PostgresClient.Configuration {
        if let socketDirectory {
            return PostgresClient.Configuration(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                                                password: password, database: database)
        }
        return PostgresClient.Configuration(host: host ?? "localhost", port: port, username: user, password: password,
                                            database: database, tls: .disable)
    }
}
