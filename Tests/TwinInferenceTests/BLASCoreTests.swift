// OpenBLAS kernel selection (Kernels/BLASCore.swift): on a CPU with AVX-512 the AVX-512 sgemm
// kernels are in use, whatever core OpenBLAS 0.3.21 detected by model number.

import Foundation
import Testing
@testable import TwinInference

@Suite struct BLASCoreTests {
    @Test("AVX-512 CPUs get OpenBLAS's AVX-512 kernels unless OPENBLAS_CORETYPE says otherwise")
    func avx512KernelsWhenAvailable() throws {
        let selection = BLASThreads.configured
        #expect(selection.active == BLASCore.currentName())
        let userChoice = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil && !selection.changed
        guard let flags = BLASCore.cpuFlags(), BLASCore.avx512Flags.isSubset(of: flags), !userChoice else { return }
        #expect(BLASCore.avx512Cores.contains(selection.active.lowercased()), "OpenBLAS core \(selection.active)")
    }
}
