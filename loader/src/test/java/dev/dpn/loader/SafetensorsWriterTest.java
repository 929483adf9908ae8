package dev.dpn.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the writer writes, the reader reads back byte for byte; and the writer refuses to write a broken file. */
class SafetensorsWriterTest {
    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTripsByteForByte() throws IOException {
        Path file = dir.resolve("all.safetensors");
        // Reverse order, so that reading back in header order is not reading back in sorted order by luck. Rows of
        // 5 blocks: one element each for plain types, 32-weight blocks for Q8_0 and Q4_0.
        List<TensorInfo> tensors = Arrays.stream(DType.values())
                .map(t -> new TensorInfo("w." + t.name(), t, 3, 5L * t.blockSize()))
                .toList()
                .reversed();
        Random random = new Random(7);
        byte[][] contents = new byte[tensors.size()][];
        try (var writer = SafetensorsWriter.create(file, tensors, Map.of())) {
            for (int i = 0; i < tensors.size(); i++) {
                contents[i] = new byte[(int) tensors.get(i).byteSize()];
                random.nextBytes(contents[i]);
                writer.write(tensors.get(i).name(), MemorySegment.ofArray(contents[i]));
            }
        }
        try (var read = SafetensorsFile.open(file)) {
            assertEquals(tensors.stream().map(TensorInfo::name).toList(), List.copyOf(read.names()));
            for (int i = 0; i < tensors.size(); i++) {
                TensorInfo info = tensors.get(i);
                assertEquals(info, read.info(info.name()));
                Tensor t = read.tensor(info.name());
                assertEquals(info.dtype(), t.dtype());
                assertArrayEquals(info.shape(), t.shape());
                assertArrayEquals(contents[i], t.data().toArray(ValueLayout.JAVA_BYTE), info.name());
            }
            assertTrue(read.metadata().isEmpty());
        }
    }

    @Test
    void valuesReadBackAsWritten() throws IOException {
        // Each value is exactly representable in its type, so equality is exact.
        float[] halves = {1f, -2.5f, 65504f, 0.000061035156f};
        float[] brains = {1f, -2.5f, 3.3895314e38f, 0.15625f};
        long[] longs = {Long.MIN_VALUE, -1, 1L << 40};
        Path file = dir.resolve("values.safetensors");
        try (var arena = new TensorArena()) {
            Tensor f16 = arena.allocate(DType.F16, 2, 2).copyFrom(halves);
            Tensor bf16 = arena.allocate(DType.BF16, 4).copyFrom(brains);
            Tensor f32 = arena.of(new float[] {Float.MIN_VALUE, -0f, Float.MAX_VALUE}, 3);
            Tensor i64 = arena.allocate(DType.I64, 3);
            for (int i = 0; i < longs.length; i++) {
                i64.data().set(DType.LONG, 8L * i, longs[i]);
            }
            write(file, Map.of("f16", f16, "bf16", bf16, "f32", f32, "i64", i64));
        }
        try (var read = SafetensorsFile.open(file)) {
            assertArrayEquals(halves, read.tensor("f16").toFloatArray());
            assertArrayEquals(new long[] {2, 2}, read.tensor("f16").shape());
            assertArrayEquals(brains, read.tensor("bf16").toFloatArray());
            assertArrayEquals(new float[] {Float.MIN_VALUE, -0f, Float.MAX_VALUE}, read.tensor("f32").toFloatArray());
            MemorySegment i64 = read.tensor("i64").data();
            for (int i = 0; i < longs.length; i++) {
                assertEquals(longs[i], i64.get(DType.LONG, 8L * i));
            }
        }
    }

    @Test
    void tensorsStreamInChunksOfAnySize() throws IOException {
        Path file = dir.resolve("chunks.safetensors");
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f - 100;
        }
        MemorySegment bytes = MemorySegment.ofArray(new byte[4 * values.length]);
        MemorySegment.copy(values, 0, bytes, DType.FLOAT, 0, values.length);
        List<TensorInfo> tensors = List.of(new TensorInfo("x", DType.F32, 10, 100));
        try (var writer = SafetensorsWriter.create(file, tensors, Map.of())) {
            // 7-byte chunks split elements across chunks.
            for (long at = 0; at < bytes.byteSize(); at += 7) {
                writer.write("x", bytes.asSlice(at, Math.min(7, bytes.byteSize() - at)));
            }
        }
        try (var read = SafetensorsFile.open(file)) {
            assertArrayEquals(values, read.tensor("x").toFloatArray());
        }
    }

    @Test
    void chunksLargerThanTheWritersPiecesArriveWhole() throws IOException {
        Path file = dir.resolve("large.safetensors");
        float[] values = new float[700_000]; // 2.8 MB: three pieces through the staging buffer
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        List<TensorInfo> tensors = List.of(new TensorInfo("x", DType.F32, 700, 1000));
        try (var writer = SafetensorsWriter.create(file, tensors, Map.of())) {
            writer.write("x", MemorySegment.ofArray(values));
        }
        try (var read = SafetensorsFile.open(file)) {
            assertArrayEquals(values, read.tensor("x").toFloatArray());
        }
    }

    @Test
    void emptyAndScalarTensors() throws IOException {
        Path file = dir.resolve("small.safetensors");
        List<TensorInfo> tensors = List.of(new TensorInfo("empty", DType.F32, 0, 4),
                new TensorInfo("scalar", DType.F32), new TensorInfo("also_empty", DType.BF16, 3, 0));
        try (var writer = SafetensorsWriter.create(file, tensors, Map.of())) {
            // An empty tensor needs no write: the writer steps over it.
            writer.write("scalar", MemorySegment.ofArray(new float[] {42f}));
        }
        try (var read = SafetensorsFile.open(file)) {
            assertEquals(0, read.tensor("empty").byteSize());
            assertArrayEquals(new long[] {0, 4}, read.tensor("empty").shape());
            assertEquals(0, read.tensor("scalar").rank());
            assertEquals(42f, read.tensor("scalar").getFloat(0));
            assertEquals(0, read.tensor("also_empty").size());
        }
    }

    @Test
    void metadataAndAnyTensorNameSurviveTheRoundTrip() throws IOException {
        Path file = dir.resolve("meta.safetensors");
        Map<String, String> metadata = Map.of("format", "pt", "params", "{\"eps\": 1e-6}", "émoji", "ψ \"quoted\"");
        String name = "layers.0.\"odd\" näme\n";
        try (var writer = SafetensorsWriter.create(file, List.of(new TensorInfo(name, DType.U8, 1)), metadata)) {
            writer.write(name, MemorySegment.ofArray(new byte[] {9}));
        }
        try (var read = SafetensorsFile.open(file)) {
            assertEquals(metadata, read.metadata());
            assertEquals(9f, read.tensor(name).getFloat(0));
        }
    }

    @Test
    void headerIsPaddedWithSpacesSoThatDataStartsEightByteAligned() throws IOException {
        Path file = dir.resolve("padded.safetensors");
        try (var writer = SafetensorsWriter.create(file, List.of(new TensorInfo("ab", DType.U8, 3),
                new TensorInfo("c", DType.I16, 2)), Map.of())) {
            writer.write("ab", MemorySegment.ofArray(new byte[] {1, 2, 3}));
            writer.write("c", MemorySegment.ofArray(new byte[] {4, 5, 6, 7}));
        }
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLength) % 8);
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertEquals(header.strip(), header.substring(0, header.lastIndexOf('}') + 1));
        assertTrue(header.endsWith(" "), "this header needs padding");
        // Back to back, in declared order, as the reference implementation demands.
        JsonNode json = new ObjectMapper().readTree(header);
        assertEquals("[0,3]", json.get("ab").get("data_offsets").toString());
        assertEquals("[3,7]", json.get("c").get("data_offsets").toString());
        assertEquals(8 + headerLength + 7, bytes.length);
    }

    @Test
    void rejectsATensorDeclaredTwice() {
        var tensors = List.of(new TensorInfo("w", DType.F32, 1), new TensorInfo("w", DType.F32, 2));
        assertWriterRejects(() -> SafetensorsWriter.create(dir.resolve("twice.safetensors"), tensors, Map.of()),
                "twice.safetensors: tensor \"w\" is declared twice");
    }

    @Test
    void rejectsTheReservedName() {
        var tensors = List.of(new TensorInfo("__metadata__", DType.F32, 1));
        assertWriterRejects(() -> SafetensorsWriter.create(dir.resolve("reserved.safetensors"), tensors, Map.of()),
                "tensor \"__metadata__\" takes the name reserved for metadata");
    }

    @Test
    void rejectsMoreBytesThanATensorHolds() throws IOException {
        try (var writer = twoTensorWriter("overflow.safetensors")) {
            writer.write("a", MemorySegment.ofArray(new byte[6]));
            assertWriterRejects(() -> writer.write("a", MemorySegment.ofArray(new byte[3])),
                    "tensor \"a\" would receive 9 bytes, but it holds 8");
            writer.write("a", MemorySegment.ofArray(new byte[2]));
            writer.write("b", MemorySegment.ofArray(new byte[4]));
        }
    }

    @Test
    void rejectsStartingATensorBeforeThePreviousIsComplete() throws IOException {
        try (var writer = twoTensorWriter("early.safetensors")) {
            writer.write("a", MemorySegment.ofArray(new byte[4]));
            assertWriterRejects(() -> writer.write("b", MemorySegment.ofArray(new byte[4])),
                    "tensor \"a\" received 4 of its 8 bytes");
            writer.write("a", MemorySegment.ofArray(new byte[4]));
            writer.write("b", MemorySegment.ofArray(new byte[4]));
        }
    }

    @Test
    void rejectsGoingBackToAnEarlierTensor() throws IOException {
        try (var writer = twoTensorWriter("back.safetensors")) {
            writer.write("a", MemorySegment.ofArray(new byte[8]));
            writer.write("b", MemorySegment.ofArray(new byte[2]));
            assertWriterRejects(() -> writer.write("a", MemorySegment.ofArray(new byte[1])),
                    "tensor \"a\" is declared before \"b\", which has begun");
            writer.write("b", MemorySegment.ofArray(new byte[2]));
        }
    }

    @Test
    void rejectsAnUndeclaredTensor() throws IOException {
        try (var writer = twoTensorWriter("undeclared.safetensors")) {
            assertWriterRejects(() -> writer.write("c", MemorySegment.ofArray(new byte[1])),
                    "tensor \"c\" was not declared");
            writer.write("a", MemorySegment.ofArray(new byte[8]));
            writer.write("b", MemorySegment.ofArray(new byte[4]));
        }
    }

    @Test
    void closingWithATensorIncompleteDeletesTheFile() throws IOException {
        Path file = dir.resolve("incomplete.safetensors");
        SafetensorsWriter writer = twoTensorWriter(file.getFileName().toString());
        writer.write("a", MemorySegment.ofArray(new byte[8]));
        writer.write("b", MemorySegment.ofArray(new byte[3]));
        assertWriterRejects(writer::close, "tensor \"b\" received 3 of its 4 bytes");
        assertFalse(Files.exists(file));
        writer.close();
    }

    private SafetensorsWriter twoTensorWriter(String name) throws IOException {
        return SafetensorsWriter.create(dir.resolve(name),
                List.of(new TensorInfo("a", DType.F32, 2), new TensorInfo("b", DType.F16, 2)), Map.of());
    }

    private static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        List<TensorInfo> infos = tensors.entrySet().stream()
                .map(e -> new TensorInfo(e.getKey(), e.getValue().dtype(), e.getValue().shape()))
                .toList();
        try (var writer = SafetensorsWriter.create(file, infos, Map.of())) {
            for (TensorInfo info : infos) {
                writer.write(info.name(), tensors.get(info.name()).data());
            }
        }
    }

    private static void assertWriterRejects(org.junit.jupiter.api.function.Executable call, String reason) {
        var e = assertThrows(SafetensorsException.class, call);
        assertTrue(e.getMessage().contains(".safetensors: ") && e.getMessage().contains(reason),
                () -> "\"" + e.getMessage() + "\" does not say " + reason);
    }
}
