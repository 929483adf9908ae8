"""The safetensors format, read and written by hand.

A file is: an 8-byte little-endian header length N, N bytes of JSON header, then the raw little-endian
tensor data. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets relative to the start of the data section) and may hold a "__metadata__" map of strings.
"""

import json
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}

METADATA_KEY = "__metadata__"
HEADER_ALIGNMENT = 8
# The official implementation refuses larger headers; a bigger value means a corrupt or foreign file.
MAX_HEADER_BYTES = 100_000_000


class SafetensorsError(ValueError):
    pass


def _require_little_endian():
    if sys.byteorder != "little":
        raise SafetensorsError("safetensors data is little-endian; this reader supports little-endian hosts only")


def read_header(path):
    """Returns (entries, metadata, data_start): entries maps name -> (dtype, shape, begin, end)."""
    with open(path, "rb") as file:
        prefix = file.read(8)
        file.seek(0, 2)
        file_size = file.tell()
        if len(prefix) < 8:
            raise SafetensorsError(f"{path}: file of {file_size} bytes is too short for a safetensors header")
        (header_size,) = struct.unpack("<Q", prefix)
        if header_size > min(MAX_HEADER_BYTES, file_size - 8):
            raise SafetensorsError(f"{path}: header length {header_size} exceeds the file size {file_size}")
        file.seek(8)
        raw = file.read(header_size)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: header is not valid UTF-8 JSON ({error})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header must be a JSON object")

    metadata = header.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{path}: {METADATA_KEY} must map strings to strings")

    data_start = 8 + header_size
    data_size = file_size - data_start
    entries = {name: _parse_entry(path, name, info, data_size) for name, info in header.items()}
    _check_tiling(path, entries, data_size)
    return entries, metadata, data_start


def _parse_entry(path, name, info, data_size):
    if not isinstance(info, dict):
        raise SafetensorsError(f"{path}: tensor '{name}': entry must be an object")
    dtype_name = info.get("dtype")
    if dtype_name not in DTYPES:
        raise SafetensorsError(f"{path}: tensor '{name}': unsupported dtype {dtype_name!r}")
    shape = info.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise SafetensorsError(f"{path}: tensor '{name}': shape must be a list of non-negative integers")
    offsets = info.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)):
        raise SafetensorsError(f"{path}: tensor '{name}': data_offsets must be [begin, end]")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise SafetensorsError(
            f"{path}: tensor '{name}': data_offsets [{begin}, {end}] fall outside the {data_size}-byte data section")
    dtype = DTYPES[dtype_name]
    expected = _numel(shape) * _itemsize(dtype)
    if end - begin != expected:
        raise SafetensorsError(
            f"{path}: tensor '{name}': {dtype_name}{shape} needs {expected} bytes, data_offsets span {end - begin}")
    return dtype, tuple(shape), begin, end


def _check_tiling(path, entries, data_size):
    """The format requires the tensors to cover the data section exactly: no gaps, no overlaps."""
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: (item[1][2], item[1][3])):
        if begin != position:
            raise SafetensorsError(f"{path}: tensor '{name}' starts at byte {begin}, expected {position}")
        position = end
    if position != data_size:
        raise SafetensorsError(f"{path}: tensors end at byte {position} of a {data_size}-byte data section")


def load_file(path):
    """Reads every tensor of a safetensors file into CPU memory; returns (tensors, metadata)."""
    _require_little_endian()
    entries, metadata, data_start = read_header(path)
    tensors = {}
    with open(path, "rb") as file:
        for name, (dtype, shape, begin, end) in entries.items():
            if begin == end:
                tensors[name] = torch.empty(shape, dtype=dtype)
                continue
            buffer = bytearray(end - begin)
            file.seek(data_start + begin)
            file.readinto(buffer)
            tensors[name] = torch.frombuffer(buffer, dtype=dtype).reshape(shape)
    return tensors, metadata


def save_file(tensors, path, metadata=None):
    """Writes tensors (name -> CPU tensor) in name order; the header is space-padded to 8-byte alignment."""
    _require_little_endian()
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise SafetensorsError(f"{path}: metadata must map strings to strings")
        header[METADATA_KEY] = dict(metadata)
    blobs = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        if name == METADATA_KEY:
            raise SafetensorsError(f"{path}: '{METADATA_KEY}' is reserved and cannot name a tensor")
        if tensor.dtype not in _DTYPE_NAMES:
            raise SafetensorsError(f"{path}: tensor '{name}': dtype {tensor.dtype} has no safetensors name")
        blob = _tensor_bytes(tensor)
        header[name] = {
            "dtype": _DTYPE_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % HEADER_ALIGNMENT)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for blob in blobs:
            file.write(blob)


def _tensor_bytes(tensor):
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def _numel(shape):
    count = 1
    for n in shape:
        count *= n
    return count


def _itemsize(dtype):
    return torch.empty((), dtype=dtype).element_size()
