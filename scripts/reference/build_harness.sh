#!/usr/bin/env bash
# Builds scripts/work/infbench: a private SwiftPM package (gitignored) holding only TwinInference
# (symlinked) and infbench_main.swift, so bench-compare can time the library without the daemon
# and without touching the main package's build. Prints the binary's path on its last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/scripts/work/infbench"
mkdir -p "$dir/Sources/infbench"
ln -sfn "$root/Sources/TwinInference" "$dir/Sources/TwinInference"
ln -sfn "$root/Sources/CBLAS" "$dir/Sources/CBLAS"
ln -sfn "$root/scripts/reference/infbench_main.swift" "$dir/Sources/infbench/main.swift"
cat > "$dir/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "infbench",
    dependencies: [.package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "TwinInference", dependencies: ["CBLAS", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .executableTarget(name: "infbench", dependencies: ["TwinInference"]),
    ]
)
SWIFT
[ -f "$dir/Package.resolved" ] || cp "$root/Package.resolved" "$dir/" 2>/dev/null || true
cd "$dir"
swift build -c release --product infbench >&2
echo "$dir/.build/release/infbench"
