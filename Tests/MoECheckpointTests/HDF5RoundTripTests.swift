import Testing
@testable import MoECheckpoint
