import Testing
@testable import TwinLedger
