// Role: OpenBLAS kernel selection. Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernels by
// CPU model number, and models it does not know fall back to the SSE3 "Prescott" kernels: on
// the render hosts (Intel family 6, model 207, AVX-512 with BF16) that made sgemm about 2.5x
// slower (33 against 90-105 GFLOP/s at conv shapes, 2 threads). OpenBLAS reads
// OPENBLAS_CORETYPE only while the library loads, before our code runs, so when it chose a
// non-AVX-512 core on a CPU that has AVX-512 (F, DQ, CD, BW, VL, enabled by the OS) we set
// OPENBLAS_CORETYPE and re-run its dynamic core selection. A user-set OPENBLAS_CORETYPE is
// always respected. Runs once, before the first sgemm (`BLASThreads`).
// Reference: OpenBLAS driver/others/dynamic.c (`gotoblas_dynamic_quit` + `gotoblas_dynamic_init`,
// exported by DYNAMIC_ARCH builds, looked up with dlsym) and its OPENBLAS_CORETYPE names.
// Failure modes: none thrown; builds without those symbols, non-Linux systems or an unreadable
// /proc/cpuinfo keep the core OpenBLAS chose (slower, never wrong).

import CBLAS
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum BLASCore {
    /// What the selection did, for logs and `twinrender bench`.
    struct Selection: Sendable, Equatable {
        /// OpenBLAS's core name when the process started and after the fix.
        let detected: String
        let active: String
        var changed: Bool { detected != active }
    }

    /// Core names whose sgemm kernels use AVX-512.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// Checks (and if needed fixes) OpenBLAS's kernel choice. Call once, before any BLAS call.
    static func select() -> Selection {
        let detected = currentName()
        #if os(Linux)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              !avx512Cores.contains(detected.lowercased()),
              let flags = cpuFlags(), avx512Flags.isSubset(of: flags),
              let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialise = dlsym(handle, "gotoblas_dynamic_init")
        else { return Selection(detected: detected, active: detected) }
        typealias Fn = @convention(c) () -> Void
        // SkylakeX: the AVX-512 sgemm kernels (Cooperlake adds only BF16 routines, and 0.3.21's
        // OPENBLAS_CORETYPE parser does not find the name "COOPERLAKE").
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        unsafeBitCast(quit, to: Fn.self)()
        unsafeBitCast(initialise, to: Fn.self)()
        return Selection(detected: detected, active: currentName())
        #else
        return Selection(detected: detected, active: detected)
        #endif
    }

    /// OpenBLAS's current core name.
    static func currentName() -> String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The AVX-512 subset OpenBLAS's SkylakeX kernels need (/proc/cpuinfo lists a flag only
    /// when the kernel enabled its register state).
    static let avx512Flags: Set<String> = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]

    /// The first CPU's feature flags from /proc/cpuinfo.
    static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
