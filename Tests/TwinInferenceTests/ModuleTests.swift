import Testing
@testable import TwinInference
