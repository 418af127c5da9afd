import Testing
import Foundation
@testable import MoECheckpoint

@Test func smokeOpensEveryPtFixture() throws {
    for url in Fixtures.ptFiles {
        let file = try TorchSaveFile(path: url.path)
        let (dict, path) = try file.modelDict()
        let sd = try file.stateDict(dict, path: path)
        print(url.path, sd.tensors.count, sd.objects.count, file.storages.count)
    }
}
