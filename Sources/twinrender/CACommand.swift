// Role: `twinrender ca init` and `ca issue`: the operator CA that certifies render hosts' C2PA
// signing keys, and the host certificate chain for `provenance.certificate_chain`.
// Reference: docs/watermark.md, "C2PA Content Credentials"; the logic is TwinImaging's
// `C2PAAuthorityFiles` / `C2PACertificates`.
// Failure modes: refuses to overwrite CA or chain files; an unreadable host key or CA, or a CA
// that cannot issue (expired, not a CA), exits with the reason.

import ArgumentParser
import Foundation
import TwinConsent
import TwinImaging

/// `twinrender ca init|issue`.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Operator CA for C2PA Content Credentials: create it, issue render-host certificates.",
        subcommands: [CAInitCommand.self, CAIssueCommand.self]
    )
}

/// `twinrender ca init --out DIR [--name NAME] [--days N]`.
struct CAInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an operator CA: DIR/operator-ca.key (Ed25519, mode 0600) and DIR/operator-ca.pem (self-signed; the trust anchor)."
    )

    @Option(name: .long, help: "Directory for the CA files.")
    var out: String

    @Option(name: .long, help: "The CA's common name.")
    var name = "twinrender operator CA"

    @Option(name: .long, help: "Validity in days.")
    var days = 3650

    func run() throws {
        let files = try C2PAAuthorityFiles.create(directory: URL(fileURLWithPath: out), name: name, now: Date(), days: days)
        print("operator CA '\(name)', valid \(days) days")
        print("private key: \(files.key.path) (keep it offline; it only issues host certificates)")
        print("certificate: \(files.certificate.path) (provenance.trust_anchors; give it to validators)")
    }
}

/// `twinrender ca issue --host NAME --host-key FILE --ca DIR --out FILE [--days N]`.
struct CAIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a C2PA signing certificate for a render host's key (ledger.host_key); writes the chain PEM (host certificate, then the CA's)."
    )

    @Option(name: .long, help: "Render host name (the certificate's common name).")
    var host: String

    @Option(name: .customLong("host-key"), help: "The host's key file (ledger.host_key); only its public key is certified.")
    var hostKey: String

    @Option(name: .long, help: "Directory of the operator CA (twinrender ca init).")
    var ca: String

    @Option(name: .long, help: "Chain file to write (provenance.certificate_chain).")
    var out: String

    @Option(name: .long, help: "Validity in days (never past the CA's).")
    var days = 365

    func run() throws {
        let key = try loadKey(hostKey).privateKey
        let certificate = try C2PAAuthorityFiles.issue(host: host, publicKey: key.publicKey, directory: URL(fileURLWithPath: ca),
                                                       out: URL(fileURLWithPath: out), now: Date(), days: days)
        print("certificate for host '\(host)' valid until \(certificate.notValidAfter.formatted(.iso8601))")
        print("chain: \(out) (set provenance.certificate_chain to it)")
    }
}
