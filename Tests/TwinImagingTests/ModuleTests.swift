import Testing
@testable import TwinImaging
