package dev.dpn.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading what other writers may produce (unaligned, gapped, beyond 4 GiB), and the file's lifetime. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void readsTensorsAtUnalignedOffsets() throws IOException {
        // A 1-byte tensor first puts the F32 tensor at data offset 1; the 109-byte header puts the data area at file
        // offset 117, so the floats start at 118: not a multiple of 4 (the mapping itself is page-aligned).
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}}";
        assertEquals(109, header.length());
        MemorySegment data = MemorySegment.ofArray(new byte[13]);
        data.set(DType.FLOAT, 1, 1.5f);
        data.set(DType.FLOAT, 5, -2.25f);
        data.set(DType.FLOAT, 9, 3e8f);
        Path file = CraftedFiles.write(dir.resolve("unaligned.safetensors"), header,
                data.toArray(ValueLayout.JAVA_BYTE));
        try (var read = SafetensorsFile.open(file)) {
            Tensor x = read.tensor("x");
            assertNotEquals(0, x.data().address() % 4);
            assertArrayEquals(new float[] {1.5f, -2.25f, 3e8f}, x.toFloatArray());
        }
    }

    @Test
    void tensorsAreViewsOfTheMappingThatReadAgainAfterAnUnloadAndDieWithTheFile() throws IOException {
        String header = "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[2,3]}}";
        Path file = CraftedFiles.write(dir.resolve("views.safetensors"), header, new byte[] {3, -4, 5});
        Tensor a;
        try (var read = SafetensorsFile.open(file)) {
            a = read.tensor("a");
            // Plain native segments, the class the kernels also get from arenas (see open).
            assertFalse(a.data().isMapped());
            assertEquals(a.data().scope(), read.tensor("b").data().scope());
            read.unload("a");
            assertArrayEquals(new float[] {3, -4}, a.toFloatArray());
        }
        assertFalse(a.data().scope().isAlive(), "closing the file ends its tensors");
    }

    @Test
    void toleratesGapsAndTrailingBytes() throws IOException {
        // The reference implementation rejects these; they mislead no reader, so we read around them.
        String header = "{\"b\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                + "\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]}}";
        Path file = CraftedFiles.write(dir.resolve("gaps.safetensors"), header, new byte[] {0, -1, 0, 0, 5, 6, 0, 0});
        try (var read = SafetensorsFile.open(file)) {
            assertEquals(List.of("b", "a"), List.copyOf(read.names()));
            assertArrayEquals(new float[] {5, 6}, read.tensor("b").toFloatArray());
            assertArrayEquals(new float[] {-1}, read.tensor("a").toFloatArray());
        }
    }

    @Test
    void addressesTensorsBeyondFourGibibytesWithoutReadingThem() throws IOException {
        long bigBytes = 4L << 30;
        String header = "{\"head\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                + "\"big\":{\"dtype\":\"F32\",\"shape\":[" + bigBytes / 4 + "],\"data_offsets\":[3," + (3 + bigBytes)
                + "]}}";
        Path file = CraftedFiles.write(dir.resolve("big.safetensors"), header, new byte[] {7, 8, 9});
        try (var channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            // A sparse file: only the last float is on disk.
            long lastFloat = 8 + header.length() + 3 + bigBytes - 4;
            channel.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 2.5f), lastFloat);
        }
        try (var read = SafetensorsFile.open(file)) {
            Tensor big = read.tensor("big");
            assertEquals(bigBytes, big.byteSize());
            assertEquals(2.5f, big.getFloat(big.size() - 1));
            assertEquals(0f, big.getFloat(0));
            assertArrayEquals(new float[] {7, 8, 9}, read.tensor("head").toFloatArray());
        }
    }

    @Test
    void describesTensorsFromTheHeaderAlone() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],"
                + "\"data_offsets\":[0,12]}}";
        try (var read = SafetensorsFile.open(CraftedFiles.write(dir.resolve("w.safetensors"), header, new byte[12]))) {
            assertEquals(new TensorInfo("w", DType.BF16, 2, 3), read.info("w"));
            assertEquals(12, read.info("w").byteSize());
            assertTrue(read.contains("w"));
            assertFalse(read.contains("__metadata__"));
            assertEquals(java.util.Map.of("format", "pt"), read.metadata());
            assertEquals(dir.resolve("w.safetensors"), read.path());
        }
    }

    @Test
    void aMissingTensorIsNamedWithoutListingTheFile() throws IOException {
        Path file = CraftedFiles.write(dir.resolve("one.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        try (var read = SafetensorsFile.open(file)) {
            var e = assertThrows(SafetensorsException.class, () -> read.tensor("lm_head.weight"));
            assertEquals(file + ": tensor \"lm_head.weight\" is not in this file of 1 tensors", e.getMessage());
            assertThrows(SafetensorsException.class, () -> read.info("lm_head.weight"));
        }
    }

    @Test
    void closingUnmapsTheFile() throws IOException {
        Path file = CraftedFiles.write(dir.resolve("closed.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        var read = SafetensorsFile.open(file);
        Tensor w = read.tensor("w");
        assertEquals(0f, w.getFloat(0));
        read.close();
        assertThrows(IllegalStateException.class, () -> w.getFloat(0));
        read.close();
    }
}
