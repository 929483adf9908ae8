import json
import struct
import tempfile
import unittest
from pathlib import Path

import torch

from dpn_ref.safetensors_io import SafetensorsError, load_file, read_header, save_file


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "t.safetensors"

    def tearDown(self):
        self.folder.cleanup()

    def test_round_trip_keeps_every_dtype_bit_exact(self):
        tensors = {
            "f32": torch.randn(3, 5),
            "f16": torch.randn(4).half(),
            "bf16": torch.randn(2, 3).bfloat16(),
            "f64": torch.randn(2, dtype=torch.float64),
            "i64": torch.tensor([-1, 2**40]),
            "i32": torch.tensor([[7, -8]], dtype=torch.int32),
            "u8": torch.tensor([0, 255], dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(3.5),
            "empty": torch.zeros(0, 4),
        }
        save_file(tensors, self.path, metadata={"format": "pt"})
        loaded, metadata = load_file(self.path)
        self.assertEqual(metadata, {"format": "pt"})
        self.assertEqual(set(loaded), set(tensors))
        for name, tensor in tensors.items():
            self.assertEqual(loaded[name].dtype, tensor.dtype, name)
            self.assertEqual(loaded[name].shape, tensor.shape, name)
            self.assertTrue(torch.equal(loaded[name], tensor), name)

    def test_header_is_padded_to_eight_bytes_and_lists_offsets(self):
        save_file({"a": torch.ones(3), "b": torch.ones(2, dtype=torch.float16)}, self.path)
        raw = self.path.read_bytes()
        (size,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(size % 8, 0)
        header = json.loads(raw[8:8 + size])
        self.assertEqual(header["a"], {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]})
        self.assertEqual(header["b"], {"dtype": "F16", "shape": [2], "data_offsets": [12, 16]})
        self.assertEqual(len(raw), 8 + size + 16)

    def _write_raw(self, header, data):
        encoded = json.dumps(header).encode()
        self.path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)

    def test_reads_metadata_and_unpadded_header_of_other_writers(self):
        self._write_raw({"__metadata__": {"k": "v"}, "x": {"dtype": "I8", "shape": [2], "data_offsets": [0, 2]}},
                        bytes([1, 255]))
        tensors, metadata = load_file(self.path)
        self.assertEqual(metadata, {"k": "v"})
        self.assertEqual(tensors["x"].tolist(), [1, -1])

    def test_rejects_bad_files_naming_the_tensor(self):
        cases = {
            "needs 8 bytes": ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)),
            "unsupported dtype": ({"x": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)),
            "fall outside": ({"x": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, bytes(2)),
            "starts at byte": ({"x": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, bytes(2)),
        }
        for message, (header, data) in cases.items():
            with self.subTest(message):
                self._write_raw(header, data)
                with self.assertRaisesRegex(SafetensorsError, message):
                    load_file(self.path)

    def test_rejects_truncated_header(self):
        self.path.write_bytes(struct.pack("<Q", 1000) + b"{}")
        with self.assertRaisesRegex(SafetensorsError, "exceeds the file size"):
            read_header(self.path)


if __name__ == "__main__":
    unittest.main()
