import Testing
@testable import TwinConsent
