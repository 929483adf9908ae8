package dev.dpn.loader.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.loader.TensorInfo;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the writer writes, an independent reader reads back: header, metadata, tensor infos, aligned bytes. */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void metadataAndTensorsRoundTripWithAlignedOffsets() throws IOException {
        Path file = dir.resolve("m.gguf");
        GgufMetadata metadata = new GgufMetadata()
                .putString("general.architecture", "llama")
                .putUInt32("llama.block_count", 4_000_000_000L)
                .putFloat32("llama.rope.freq_base", 10000.5f)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putStrings("tokenizer.ggml.tokens", List.of("<s>", "▁héllo", ""))
                .putFloats("tokenizer.ggml.scores", new float[] {0f, -1.5f, -1000f})
                .putInts("tokenizer.ggml.token_type", new int[] {3, 1, -5});
        // Odd sizes (3 F32 = 12 bytes, one Q4_0 block = 18 bytes) so that padding between tensors is needed.
        List<TensorInfo> tensors = List.of(new TensorInfo("a", DType.F32, 3), new TensorInfo("b", DType.Q4_0, 1, 32),
                new TensorInfo("c", DType.Q8_0, 2, 64), new TensorInfo("d", DType.F16, 3, 5),
                new TensorInfo("e", DType.BF16, 7));
        Random random = new Random(3);
        byte[][] contents = new byte[tensors.size()][];
        try (GgufWriter writer = GgufWriter.create(file, metadata, tensors)) {
            for (int i = 0; i < tensors.size(); i++) {
                contents[i] = new byte[(int) tensors.get(i).byteSize()];
                random.nextBytes(contents[i]);
                MemorySegment bytes = MemorySegment.ofArray(contents[i]);
                // In two chunks: the writer must join them.
                writer.write(tensors.get(i).name(), bytes.asSlice(0, 5));
                writer.write(tensors.get(i).name(), bytes.asSlice(5));
            }
        }

        GgufFile read = new GgufFile(file);
        assertEquals(3, read.version);
        assertEquals(List.of("general.architecture", "llama.block_count", "llama.rope.freq_base",
                "tokenizer.ggml.add_bos_token", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                "tokenizer.ggml.token_type", "general.alignment"), List.copyOf(read.metadata.keySet()));
        assertEquals("llama", read.metadata.get("general.architecture"));
        assertEquals(4_000_000_000L, read.metadata.get("llama.block_count"));
        assertEquals(10000.5f, read.metadata.get("llama.rope.freq_base"));
        assertEquals(true, read.metadata.get("tokenizer.ggml.add_bos_token"));
        assertEquals(List.of("<s>", "▁héllo", ""), read.metadata.get("tokenizer.ggml.tokens"));
        assertEquals(List.of(0f, -1.5f, -1000f), read.metadata.get("tokenizer.ggml.scores"));
        assertEquals(List.of(3, 1, -5), read.metadata.get("tokenizer.ggml.token_type"));
        assertEquals(32L, read.metadata.get("general.alignment"));

        assertEquals(0, read.dataStart % 32);
        List<Integer> ggmlTypes = List.of(0, 2, 8, 1, 30);
        long expectedOffset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo info = tensors.get(i);
            GgufFile.TensorEntry entry = read.tensors.get(i);
            assertEquals(info.name(), entry.name());
            long[] shape = info.shape();
            long[] innermostFirst = new long[shape.length];
            for (int d = 0; d < shape.length; d++) {
                innermostFirst[d] = shape[shape.length - 1 - d];
            }
            assertArrayEquals(innermostFirst, entry.dims(), info.name());
            assertEquals(ggmlTypes.get(i), entry.type(), info.name());
            assertEquals(expectedOffset, entry.offset(), info.name());
            assertEquals(0, entry.offset() % 32, info.name());
            assertArrayEquals(contents[i], read.bytes(info.name(), contents[i].length), info.name());
            expectedOffset = (expectedOffset + info.byteSize() + 31) / 32 * 32;
        }
        TensorInfo last = tensors.getLast();
        assertEquals(read.dataStart + read.tensor(last.name()).offset() + last.byteSize(), read.fileSize());
    }

    @Test
    void anIncompleteTensorDeletesTheFile() throws IOException {
        Path file = dir.resolve("short.gguf");
        GgufWriter writer = GgufWriter.create(file, new GgufMetadata(), List.of(new TensorInfo("w", DType.F16, 4)));
        writer.write("w", MemorySegment.ofArray(new byte[6]));
        IllegalStateException e = assertThrows(IllegalStateException.class, writer::close);
        assertTrue(e.getMessage().contains("tensor w received 6 of its 8 bytes"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void refusesWhatGgufCannotHoldOrWasNotDeclared() throws IOException {
        Path file = dir.resolve("bad.gguf");
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> GgufWriter.create(file,
                new GgufMetadata(), List.of(new TensorInfo("ids", DType.I64, 2))));
        assertTrue(type.getMessage().contains("tensor ids is I64, which GGUF cannot store"), type.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new GgufMetadata().putString("k", "v").putBool("k", true));
        try (GgufWriter writer = GgufWriter.create(file, new GgufMetadata(),
                List.of(new TensorInfo("w", DType.F32, 1)))) {
            IllegalStateException name = assertThrows(IllegalStateException.class,
                    () -> writer.write("v", MemorySegment.ofArray(new byte[4])));
            assertTrue(name.getMessage().contains("tensor v was not declared"), name.getMessage());
            IllegalStateException overflow = assertThrows(IllegalStateException.class,
                    () -> writer.write("w", MemorySegment.ofArray(new byte[5])));
            assertTrue(overflow.getMessage().contains("would receive 5 bytes, but it holds 4"), overflow.getMessage());
            writer.write("w", MemorySegment.ofArray(new byte[4]));
        }
    }
}
