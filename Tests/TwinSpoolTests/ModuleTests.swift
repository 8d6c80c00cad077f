import Testing
@testable import TwinSpool
