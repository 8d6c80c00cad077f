import Testing
@testable import TwinDaemon
