"""The torch baseline: convert an HF per-expert safetensors folder to NeMo's native grouped layout
the way the common Python converters do: load the whole state dict with torch, stack and
transpose the experts, save. Run in the fixtures virtualenv (scripts/fixtures/setup.sh)."""
import json
import os
import re
import sys

import torch
from safetensors.torch import load_file, save_file

src, dst = sys.argv[1], sys.argv[2]
index = json.load(open(os.path.join(src, "model.safetensors.index.json")))
state = {}
for shard in sorted(set(index["weight_map"].values())):
    state.update(load_file(os.path.join(src, shard)))

pattern = re.compile(r"model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight")
experts = {}
out = {}
for key, tensor in state.items():
    m = pattern.fullmatch(key)
    if m:
        experts.setdefault(int(m.group(1)), {}).setdefault(int(m.group(2)), {})[m.group(3)] = tensor
    else:
        out[key] = tensor
for layer, per_expert in experts.items():
    count = len(per_expert)
    out[f"model.layers.{layer}.mlp.experts.gate_and_up_projs"] = torch.stack(
        [torch.cat([per_expert[e]["gate"].T, per_expert[e]["up"].T], dim=-1) for e in range(count)]).contiguous()
    out[f"model.layers.{layer}.mlp.experts.down_projs"] = torch.stack([per_expert[e]["down"].T for e in range(count)]).contiguous()
save_file(out, dst)
print(f"wrote {dst}: {len(out)} tensors")
