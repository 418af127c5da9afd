/// `--format pt`: one torch.save archive whose root is an `OrderedDict` of the state dict's
/// tensors (plus any non-tensor values the source carried, such as `_extra_state = None`).
/// Only tensors and containers go in, so `torch.load(weights_only=True)` accepts it.
public enum PTCheckpointWriter: CheckpointWriter {
    public static let format = ContainerFormat.pt
    public static let writesSingleFile = true
    /// The archive folder torch uses when it saves to a buffer; the final file name is not
    /// known here (writers write into a temporary sibling).
    static let archiveName = "archive"

    public static func write(_ request: WriteRequest, to path: String) throws {
        var storages = TorchSaveWriter.Storages()
        let dict = StateDictPickle.orderedDict(
            tensors: request.stateDict.entries, objects: request.pickledObjects.stateDict.filter { $0.value.isWeightsOnlySafe },
            storages: &storages)
        // The routing config (and head layout) ride along in a record of their own, as they do
        // in safetensors' `__metadata__`, so `inspect` of the output shows what it showed before.
        let record = RoutingRecord(config: request.moe, heads: request.attentionHeads)
        try TorchSaveWriter.write(
            .dict(dict), storages: storages, to: path, archiveName: archiveName, progress: request.progress,
            extraRecords: [(RoutingRecord.zipRecordName, record.zipRecord)])
    }
}
