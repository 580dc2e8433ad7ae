"""Checkpoint files written by the reference libraries, for tests/io (C++ reads them back).

Writes into out_dir:
  ref.safetensors         every dtype, scalar, empty tensor, metadata; written by python `safetensors`
  ref.json                the same tensors as {name: {dtype, shape, values (flat)}}, to compare exactly
  single_meta.safetensors mixed dtypes + one metadata key: C++ re-serializes it and expects the same bytes
  model.bin               torch.save(state_dict) of a small module (OrderedDict with _metadata) plus
                          fp16/bf16/int64 tensors, slices sharing one storage and a transposed view
  model_expected.safetensors  the tensors of model.bin, contiguous, saved by python `safetensors`
  model_proto4.bin        model.bin's dict saved with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)
  params.bin              state_dict(keep_vars=True): nn.Parameter values (_rebuild_parameter)
  prefix.bin              model.bin with its archive folder renamed to an arbitrary prefix
  legacy.bin              the pre-1.6 non-zip format (_use_new_zipfile_serialization=False)
  evil.bin                a torch.save zip whose data.pkl calls os.system("touch <out_dir>/pwned")
"""
import collections
import json
import pathlib
import struct
import zipfile

import torch
from safetensors.torch import save_file


def _ref_tensors():
    g = torch.Generator().manual_seed(0)
    t = collections.OrderedDict()
    t["f64"] = torch.randn(3, 4, generator=g, dtype=torch.float64)
    t["f32"] = torch.randn(2, 3, 5, generator=g)
    t["f16"] = torch.randn(7, generator=g).to(torch.float16)
    t["bf16"] = torch.randn(2, 9, generator=g).to(torch.bfloat16)
    t["i64"] = torch.tensor([[0, -1, 2**62 + 1], [-(2**63), 2**63 - 1, 7]], dtype=torch.int64)
    t["i32"] = torch.tensor([-(2**31), 2**31 - 1, 5], dtype=torch.int32)
    t["i16"] = torch.tensor([-32768, 32767, 3, 4], dtype=torch.int16)
    t["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    t["u8"] = torch.tensor([[0, 255], [17, 3]], dtype=torch.uint8)
    t["bool"] = torch.tensor([True, False, True, True, False])
    t["scalar"] = torch.tensor(3.25, dtype=torch.float32)
    t["empty"] = torch.zeros(0, 4, dtype=torch.float32)
    t["a.b.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    return t


def _describe(tensors):
    out = {}
    for name, t in tensors.items():
        dtype = str(t.dtype).replace("torch.", "")
        flat = t.reshape(-1)
        if t.dtype.is_floating_point:
            values = [float(v) for v in flat.double().tolist()]
        else:
            values = [int(v) for v in flat.long().tolist()]
        out[name] = {"dtype": dtype, "shape": list(t.shape), "values": values}
    return out


def _model_state_dict():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        collections.OrderedDict(
            embed=torch.nn.Embedding(10, 4),
            proj=torch.nn.Linear(4, 3),
            norm=torch.nn.LayerNorm(3),
        )
    )
    sd = model.state_dict()  # an OrderedDict carrying the `_metadata` attribute, as HF files do
    assert hasattr(sd, "_metadata")
    base = torch.arange(24, dtype=torch.float32) * 0.5
    sd["shared.whole"] = base
    sd["shared.slice"] = base[4:10]                  # storage_offset 4
    sd["shared.matrix"] = base[12:24].view(3, 4)     # offset 12, 2-d
    sd["shared.strided"] = base[1:13:3]              # stride 3
    sd["proj.weight_t"] = sd["proj.weight"].t()      # transposed view of another key's storage
    sd["half"] = torch.linspace(-2, 2, 9).to(torch.float16)
    sd["bf16"] = torch.linspace(-3, 3, 8).to(torch.bfloat16).view(2, 4)
    sd["position_ids"] = torch.arange(16, dtype=torch.int64).unsqueeze(0)
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(1.5, dtype=torch.float64)
    sd["empty"] = torch.zeros(0, 2)
    return model, sd


def _rewrite_zip(src, dst, rename=None, replace=None):
    """Copies a torch.save zip, renaming its top folder and/or replacing records."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            prefix, rest = info.filename.split("/", 1)
            data = zin.read(info.filename)
            if replace and rest in replace:
                data = replace[rest]
            name = (rename or prefix) + "/" + rest
            zout.writestr(zipfile.ZipInfo(name), data)


def main(out_dir: pathlib.Path, shared_dir):
    out_dir = pathlib.Path(out_dir)
    ref = _ref_tensors()
    save_file(dict(ref), out_dir / "ref.safetensors", metadata={"format": "pt", "source": "gen_io.py"})
    (out_dir / "ref.json").write_text(json.dumps(_describe(ref)))

    mixed = {
        "z": torch.arange(5, dtype=torch.int8),
        "b.weight": torch.randn(3, 3, dtype=torch.float32),
        "a.bias": torch.randn(3).to(torch.bfloat16),
        "c": torch.arange(3, dtype=torch.int64),
        "d": torch.randn(2, dtype=torch.float64),
        "e": torch.tensor([True]),
        "h": torch.randn(1).to(torch.float16),
        "scalar": torch.tensor(2, dtype=torch.int32),
    }
    save_file(mixed, out_dir / "single_meta.safetensors", metadata={"format": "pt"})

    model, sd = _model_state_dict()
    torch.save(sd, out_dir / "model.bin")
    torch.save(sd, out_dir / "model_proto4.bin", pickle_protocol=4)
    expected = {k: v.contiguous().clone() for k, v in sd.items()}
    save_file(expected, out_dir / "model_expected.safetensors")
    torch.save(model.state_dict(keep_vars=True), out_dir / "params.bin")
    _rewrite_zip(out_dir / "model.bin", out_dir / "prefix.bin", rename="some.odd-prefix_1")
    torch.save(sd, out_dir / "legacy.bin", _use_new_zipfile_serialization=False)

    # A hostile data.pkl: GLOBAL os.system, then REDUCE with a shell command. A safe loader must
    # refuse the global; if the C++ loader executed it, the marker file would appear.
    marker = out_dir / "pwned"
    marker.unlink(missing_ok=True)
    cmd = f"touch {marker}".encode()
    evil = b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."
    _rewrite_zip(out_dir / "model.bin", out_dir / "evil.bin", replace={"data.pkl": evil})
