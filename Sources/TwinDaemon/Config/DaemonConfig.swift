// Role: every setting the daemon and the CLI read from `twinrender.toml`, typed, range-checked and
// defaulted; `Config/twinrender.toml` is the annotated example.
// Reference: TOMLDocument (the TOML subset the file uses); README "Configuration".
// Failure modes: an unreadable file, a file over 1 MiB, a syntax error, an unknown key, a wrong
// type or an out-of-range value throws `ConfigError` naming the file, key and line.

import Foundation
import TwinBase

/// Everything the daemon and the CLI read from `twinrender.toml`. Every field has a documented
/// default; `Config/twinrender.toml` is the annotated example. Relative paths are resolved
/// against the directory of the config file.
public struct DaemonConfig: Sendable {
    /// Where the config came from (for messages); nil for the built-in defaults.
    public var source: URL?
    /// `host`: this host's name in active job names, ledger segments and logs. Default: the system host name.
    public var host: String = DaemonConfig.systemHostName()

    /// `spool.directory`. Default `/var/spool/twinrender`.
    public var spoolDirectory = URL(fileURLWithPath: "/var/spool/twinrender")
    /// `spool.rescan_interval_seconds`: full rescan period (inotify only wakes sooner). Default 5.
    public var rescanInterval: Double = 5
    /// `spool.max_attempts`: interrupted or failed renders before a job goes to `failed/`. Default 3.
    public var maxAttempts = 3
    /// `spool.max_job_bytes`: larger job files are rejected unread. Default 65536.
    public var maxJobBytes = 64 * 1024

    /// `[queue]`: the directory spool (default) or the fleet database.
    public var queue = QueueConfig()

    /// `model.directory`: the model package folder. Default `/usr/local/share/twinrender/models/twin-mini-v1`.
    public var modelDirectory = URL(fileURLWithPath: "/usr/local/share/twinrender/models/twin-mini-v1")

    /// `consent.registry`: the consent registry folder. Default `/var/lib/twinrender/registry`.
    public var consentRegistryDirectory = URL(fileURLWithPath: "/var/lib/twinrender/registry")
    /// `consent.trust_anchors`: registrar public-key files (`.pub`); a registry record counts only
    /// when one of them vouches for its signer. Default `/etc/twinrender/registrar.pub`.
    public var trustAnchorFiles = [URL(fileURLWithPath: "/etc/twinrender/registrar.pub")]
    /// `consent.require_signed_orders`: refuse jobs that are not orders signed by their licensee.
    /// Default true.
    public var requireSignedOrders = true

    /// `ledger.directory`: royalty ledger segments. Default `/var/lib/twinrender/ledger`.
    public var ledgerDirectory = URL(fileURLWithPath: "/var/lib/twinrender/ledger")
    /// `ledger.host_key`: this render host's private key (mode 0600), registered in the registry
    /// as a `host` party; it signs every royalty event. Default `/etc/twinrender/host.key`.
    public var hostKeyFile = URL(fileURLWithPath: "/etc/twinrender/host.key")

    /// `provenance.certificate_chain`: PEM file with this host's C2PA signing certificate (for the
    /// public key of `ledger.host_key`, made by `twinrender ca issue`) followed by the operator CA
    /// certificate. When set, every delivered PNG carries a signed C2PA manifest, and the daemon
    /// refuses to start when the chain cannot be read, is not for the host key, fails the C2PA
    /// certificate profile now, or does not chain to `provenance.trust_anchors` (when set).
    /// Default: none (PNGs carry XMP provenance only, no C2PA manifest).
    public var c2paCertificateChainFile: URL?
    /// `provenance.trust_anchors`: operator CA certificate PEM files. `verify` calls a manifest
    /// trusted only when its signer chains to one; the daemon checks its own chain against them.
    /// Default: none.
    public var c2paTrustAnchorFiles: [URL] = []
    /// `provenance.require_c2pa`: the config is refused unless `provenance.certificate_chain` is
    /// set, so no host delivers unsigned images by a forgotten key. Default false.
    public var requireC2PA = false

    /// `watermark.key_file`: the installation's secret watermark key (one line of base64 of 32
    /// bytes, mode 0600, made by `twinrender watermark keygen`); every delivered image is marked
    /// with it and `verify` needs it to read marks. The daemon refuses to start when it is
    /// missing, malformed or readable by group or others. Default `/etc/twinrender/watermark.key`.
    public var watermarkKeyFile = URL(fileURLWithPath: "/etc/twinrender/watermark.key")
    /// `watermark.previous_key_files`: keys retired by a rotation; `verify` still reads marks
    /// made with them (the daemon only embeds with `watermark.key_file`). Default: none.
    public var previousWatermarkKeyFiles: [URL] = []
    /// `watermark.coarse_layer`: also embed the coarse watermark layer (for strong compression and
    /// thumbnails, at the cost of the crop + downscale + JPEG chain; docs/watermark.md, "Coarse
    /// layer"). Detection always looks for it. Default false.
    public var watermarkCoarseLayer = false

    /// `log.directory`: `status.jsonl` and `consent-audit.jsonl`. Default `/var/log/twinrender`.
    public var logDirectory = URL(fileURLWithPath: "/var/log/twinrender")
    /// `log.level`: `trace`, `debug`, `info`, `notice`, `warning`, `error`. Default `info`.
    public var logLevel = "info"
    /// `log.progress_interval_seconds`: at most one `render.progress` line per job per interval. Default 1.
    public var progressInterval: Double = 1
    /// `log.heartbeat_interval_seconds`: `heartbeat` lines and state-file rewrites. Default 30.
    public var heartbeatInterval: Double = 30

    /// `workers.count`: renders run at once. Default 1.
    public var workers = 1
    /// `workers.blas_threads`: threads per render (BLAS and elementwise kernels). Default 2.
    /// Keep `count × blas_threads` at or below the cores.
    public var blasThreads = 2

    /// `shutdown.grace_period_seconds`: on SIGTERM a running render may finish within this;
    /// after it the render is stopped and the job put back in `incoming/`. Default 60.
    public var gracePeriod: Double = 60

    /// `output.png_compression`: zlib level 0–9 for delivered PNGs. Default 6.
    public var pngCompression = 6
    /// `output.label`: draw the visible "AI-generated" label. Default true; a grant may require it.
    public var label = true
    /// `output.label_corner`: `top-left`, `top-right`, `bottom-left`, `bottom-right`. Default `bottom-right`.
    public var labelCorner = "bottom-right"
    /// `output.label_opacity`: 0.2–1. Default 0.85.
    public var labelOpacity: Double = 0.85
    /// `output.label_scale`: integer glyph scale 1–8. Default 1.
    public var labelScale = 1

    public init() {}

    /// The config path the CLI uses: `--config`, else `$TWINRENDER_CONFIG`, else `/etc/twinrender/twinrender.toml`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["TWINRENDER_CONFIG"] ?? "/etc/twinrender/twinrender.toml"
    }

    /// Reads and validates a config file. Throws `ConfigError` naming the file and the key.
    public static func load(path: String) throws -> DaemonConfig {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue,
           size > TOMLDocument.maximumDocumentBytes {
            throw ConfigError("\(url.path): config is \(size) bytes; at most \(TOMLDocument.maximumDocumentBytes) are read")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError("\(url.path): cannot read config: \(error.localizedDescription)")
        }
        do {
            return try parse(text, baseDirectory: url.deletingLastPathComponent(), source: url)
        } catch let error as ConfigError {
            throw ConfigError("\(url.path): \(error.description)")
        }
    }

    /// Parses config text; relative paths resolve against `baseDirectory`.
    public static func parse(_ text: String, baseDirectory: URL, source: URL? = nil) throws -> DaemonConfig {
        let document = try TOMLDocument(parsing: text)
        var config = DaemonConfig()
        config.source = source
        var reader = ConfigReader(document: document, base: baseDirectory)
        if let host = try reader.string("host") {
            do {
                try HostName.validate(host)
            } catch {
                throw ConfigError.outOfRange("host", error.description)
            }
            config.host = host
        }
        config.spoolDirectory = try reader.path("spool.directory") ?? config.spoolDirectory
        config.rescanInterval = try reader.number("spool.rescan_interval_seconds", in: 0.05...3600) ?? config.rescanInterval
        config.maxAttempts = try reader.integer("spool.max_attempts", in: 1...100) ?? config.maxAttempts
        config.maxJobBytes = try reader.integer("spool.max_job_bytes", in: 256...(16 << 20)) ?? config.maxJobBytes
        config.queue = try QueueConfig.read(&reader)
        config.modelDirectory = try reader.path("model.directory") ?? config.modelDirectory
        config.consentRegistryDirectory = try reader.path("consent.registry") ?? config.consentRegistryDirectory
        config.trustAnchorFiles = try reader.paths("consent.trust_anchors") ?? config.trustAnchorFiles
        config.requireSignedOrders = try reader.boolean("consent.require_signed_orders") ?? config.requireSignedOrders
        config.ledgerDirectory = try reader.path("ledger.directory") ?? config.ledgerDirectory
        config.hostKeyFile = try reader.path("ledger.host_key") ?? config.hostKeyFile
        config.c2paCertificateChainFile = try reader.path("provenance.certificate_chain")
        config.c2paTrustAnchorFiles = try reader.paths("provenance.trust_anchors") ?? config.c2paTrustAnchorFiles
        config.requireC2PA = try reader.boolean("provenance.require_c2pa") ?? config.requireC2PA
        if config.requireC2PA, config.c2paCertificateChainFile == nil {
            throw ConfigError.outOfRange("provenance.require_c2pa", "true, but provenance.certificate_chain is not set")
        }
        config.watermarkKeyFile = try reader.path("watermark.key_file") ?? config.watermarkKeyFile
        config.previousWatermarkKeyFiles = try reader.paths("watermark.previous_key_files") ?? config.previousWatermarkKeyFiles
        config.watermarkCoarseLayer = try reader.boolean("watermark.coarse_layer") ?? config.watermarkCoarseLayer
        config.logDirectory = try reader.path("log.directory") ?? config.logDirectory
        if let level = try reader.string("log.level") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
                throw ConfigError.outOfRange("log.level", "'\(level)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            config.logLevel = level
        }
        config.progressInterval = try reader.number("log.progress_interval_seconds", in: 0...3600) ?? config.progressInterval
        config.heartbeatInterval = try reader.number("log.heartbeat_interval_seconds", in: 0.1...86400) ?? config.heartbeatInterval
        config.workers = try reader.integer("workers.count", in: 1...64) ?? config.workers
        config.blasThreads = try reader.integer("workers.blas_threads", in: 1...256) ?? config.blasThreads
        config.gracePeriod = try reader.number("shutdown.grace_period_seconds", in: 0...86400) ?? config.gracePeriod
        config.pngCompression = try reader.integer("output.png_compression", in: 0...9) ?? config.pngCompression
        config.label = try reader.boolean("output.label") ?? config.label
        if let corner = try reader.string("output.label_corner") {
            guard ["top-left", "top-right", "bottom-left", "bottom-right"].contains(corner) else {
                throw ConfigError.outOfRange("output.label_corner", "'\(corner)' is not one of top-left, top-right, bottom-left, bottom-right")
            }
            config.labelCorner = corner
        }
        config.labelOpacity = try reader.number("output.label_opacity", in: 0.2...1) ?? config.labelOpacity
        config.labelScale = try reader.integer("output.label_scale", in: 1...8) ?? config.labelScale
        try reader.rejectUnknownKeys()
        return config
    }

    /// The system host name (the part before the first dot), or `localhost` when it is not a
    /// valid host name (`HostName`).
    public static func systemHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(cString: buffer).split(separator: ".").first.map(String.init) ?? ""
        return HostName.isValid(name) ? name : "localhost"
    }
}

/// Typed, range-checked reads from a TOML document that remember which keys were used.
struct ConfigReader {
    let document: TOMLDocument
    let base: URL
    var used: Set<String> = []

    init(document: TOMLDocument, base: URL) {
        self.document = document
        self.base = base
    }

    mutating func value(_ key: String) -> TOMLValue? {
        used.insert(key)
        return document[key]
    }

    mutating func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw ConfigError.wrongType(key, expected: "a string", got: v) }
        return s
    }

    mutating func path(_ key: String) throws -> URL? {
        guard let s = try string(key) else { return nil }
        guard !s.isEmpty else { throw ConfigError.outOfRange(key, "path is empty") }
        return s.hasPrefix("/") ? URL(fileURLWithPath: s).standardizedFileURL : base.appendingPathComponent(s).standardizedFileURL
    }

    mutating func paths(_ key: String) throws -> [URL]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw ConfigError.wrongType(key, expected: "an array of paths", got: v) }
        return try items.map { item in
            guard case .string(let s) = item, !s.isEmpty else { throw ConfigError.wrongType(key, expected: "an array of paths", got: v) }
            return s.hasPrefix("/") ? URL(fileURLWithPath: s).standardizedFileURL : base.appendingPathComponent(s).standardizedFileURL
        }
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard case .integer(let i) = v else { throw ConfigError.wrongType(key, expected: "an integer", got: v) }
        guard range.contains(i) else { throw ConfigError.outOfRange(key, "\(i) is outside \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = value(key) else { return nil }
        let d: Double
        switch v {
        case .integer(let i): d = Double(i)
        case .float(let f): d = f
        default: throw ConfigError.wrongType(key, expected: "a number", got: v)
        }
        guard range.contains(d) else { throw ConfigError.outOfRange(key, "\(d) is outside \(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    mutating func boolean(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .boolean(let b) = v else { throw ConfigError.wrongType(key, expected: "true or false", got: v) }
        return b
    }

    func rejectUnknownKeys() throws {
        if let unknown = document.entries.first(where: { !used.contains($0.key) }) {
            throw ConfigError.unknownKey(unknown.key, line: unknown.line)
        }
    }
}
