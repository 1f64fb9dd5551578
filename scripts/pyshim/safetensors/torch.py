"""`load_file` / `save_file` of the safetensors format with PyTorch only: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian bytes."""
import json
import struct

import torch

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_file(filename, device="cpu"):
    with open(filename, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = bytearray(data[8 + n:])
    out = {}
    for name, info in header.items():
        dtype = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        if end == begin:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(body, dtype=dtype, count=(end - begin) // _itemsize(dtype),
                                 offset=begin).clone().reshape(shape)
        out[name] = t.to(device)
    return out


def save_file(tensors, filename, metadata=None):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = bytes(t.reshape(-1).view(torch.uint8).tolist()) if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(filename, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def _itemsize(dtype):
    return torch.empty((), dtype=dtype).element_size()
