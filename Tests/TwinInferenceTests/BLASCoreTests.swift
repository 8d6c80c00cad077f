// OpenBLAS kernel selection (Kernels/BLASCore.swift): the fix switches to the AVX-512 kernels
// exactly when the CPU has AVX-512 and OpenBLAS chose something else, never on other CPUs; on
// an AVX-512 CPU the AVX-512 kernels end up in use unless OPENBLAS_CORETYPE names another core.

import Foundation
import Testing
@testable import TwinInference

@Suite struct BLASCoreTests {
    static var flags: Set<String> { BLASCore.cpuFlags() ?? [] }
    static var hasAVX512: Bool { BLASCore.avx512Flags.isSubset(of: flags) }
    /// OPENBLAS_CORETYPE names a non-AVX-512 core (ours, when the fix ran, is "SKYLAKEX").
    static var userChoseOtherCore: Bool {
        guard let value = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] else { return false }
        return !BLASCore.avx512Cores.contains(value.lowercased())
    }

    @Test("the selection is consistent with the CPU, on every CPU")
    func selectionMatchesCPU() throws {
        let selection = BLASThreads.configured
        #expect(selection.active == BLASCore.currentName())
        #expect(selection.active != "unknown" && selection.detected != "unknown")
        // TwinInference is built with -target-cpu haswell, so the CPU running it has AVX2 and FMA.
        let flags = Self.flags
        #expect(flags.isSuperset(of: ["avx2", "fma"]), "cpuinfo flags: \(flags.sorted().prefix(8))…")
        if selection.changed {
            // The fix ran: only on AVX-512 CPUs, and it landed on an AVX-512 core.
            #expect(Self.hasAVX512)
            #expect(BLASCore.avx512Cores.contains(selection.active.lowercased()), "OpenBLAS core \(selection.active)")
        }
        if !Self.hasAVX512 {
            // Never AVX-512 kernels on a CPU without them (they would die on SIGILL).
            #expect(!selection.changed)
            #expect(!BLASCore.avx512Cores.contains(selection.active.lowercased()), "OpenBLAS core \(selection.active)")
        }
    }

    @Test("AVX-512 CPUs get OpenBLAS's AVX-512 kernels",
          .enabled(if: BLASCoreTests.hasAVX512, "this CPU has no AVX-512 (avx512f/dq/cd/bw/vl)"),
          .enabled(if: !BLASCoreTests.userChoseOtherCore, "OPENBLAS_CORETYPE names a non-AVX-512 core"))
    func avx512KernelsWhenAvailable() throws {
        let selection = BLASThreads.configured
        #expect(BLASCore.avx512Cores.contains(selection.active.lowercased()),
                "OpenBLAS core \(selection.active) (detected \(selection.detected))")
    }
}
