package dev.dpn.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Single-file and sharded checkpoints, and the ways a shard can disagree with its index. */
class SafetensorsCheckpointTest {
    private static final String INDEX = SafetensorsCheckpoint.INDEX_FILE;

    @TempDir
    Path dir;

    @Test
    void opensASingleFileDirectlyOrThroughItsDirectory() throws IOException {
        Path file = shard("model.safetensors", Map.of("w", new float[] {1, 2}), Map.of("format", "pt"));
        for (Path path : List.of(file, dir)) {
            try (var checkpoint = SafetensorsCheckpoint.open(path)) {
                assertEquals(List.of("w"), List.copyOf(checkpoint.names()));
                assertArrayEquals(new float[] {1, 2}, checkpoint.tensor("w").toFloatArray());
                assertEquals(Map.of("format", "pt"), checkpoint.metadata());
                assertEquals(List.of(file), checkpoint.files().stream().map(SafetensorsFile::path).toList());
            }
        }
    }

    @Test
    void opensShardsThroughTheIndexOrItsDirectory() throws IOException {
        shard("model-00001-of-00002.safetensors", ordered("b", new float[] {1}, "a", new float[] {2, 3}), Map.of());
        shard("model-00002-of-00002.safetensors", Map.of("c", new float[] {4, 5, 6}), Map.of());
        index("""
                {"metadata": {"total_size": 24, "format": "pt"},
                 "weight_map": {"c": "model-00002-of-00002.safetensors",
                                "a": "model-00001-of-00002.safetensors",
                                "b": "model-00001-of-00002.safetensors"}}""");
        for (Path path : List.of(dir.resolve(INDEX), dir)) {
            try (var checkpoint = SafetensorsCheckpoint.open(path)) {
                assertEquals(List.of("c", "a", "b"), List.copyOf(checkpoint.names()));
                assertArrayEquals(new float[] {1}, checkpoint.tensor("b").toFloatArray());
                assertArrayEquals(new float[] {2, 3}, checkpoint.tensor("a").toFloatArray());
                assertArrayEquals(new float[] {4, 5, 6}, checkpoint.tensor("c").toFloatArray());
                assertEquals(new TensorInfo("c", DType.F32, 3), checkpoint.info("c"));
                assertTrue(checkpoint.contains("a"));
                assertFalse(checkpoint.contains("d"));
                assertEquals(Map.of("total_size", "24", "format", "pt"), checkpoint.metadata());
                assertEquals(2, checkpoint.files().size(), "each shard is mapped once");
            }
        }
    }

    @Test
    void closingUnmapsEveryShard() throws IOException {
        shard("s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        shard("s2.safetensors", Map.of("b", new float[] {2}), Map.of());
        index("{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
        var checkpoint = SafetensorsCheckpoint.open(dir);
        Tensor a = checkpoint.tensor("a");
        Tensor b = checkpoint.tensor("b");
        checkpoint.close();
        assertThrows(IllegalStateException.class, () -> a.getFloat(0));
        assertThrows(IllegalStateException.class, () -> b.getFloat(0));
    }

    @Test
    void aMissingTensorIsNamedAgainstTheCheckpoint() throws IOException {
        Path file = shard("model.safetensors", Map.of("w", new float[] {1}), Map.of());
        try (var checkpoint = SafetensorsCheckpoint.open(file)) {
            var e = assertThrows(SafetensorsException.class, () -> checkpoint.tensor("v"));
            assertEquals(file + ": tensor \"v\" is not in this checkpoint of 1 tensors", e.getMessage());
        }
    }

    @Test
    void rejectsADirectoryWithoutACheckpoint() {
        assertRejected(dir, dir + ": holds neither model.safetensors nor " + INDEX);
    }

    @Test
    void rejectsAnIndexWithoutAWeightMap() throws IOException {
        index("{\"metadata\": {}}");
        assertRejected(dir, "has no weight_map object");
    }

    @Test
    void rejectsAnIndexThatIsNotJson() throws IOException {
        index("{\"weight_map\": {\"a\": \"s1.safetensors\",}}");
        assertRejected(dir, INDEX + ": is malformed JSON: Unexpected character");
    }

    @Test
    void rejectsAShardThatIsNotAFileName() throws IOException {
        index("{\"weight_map\": {\"a\": 7}}");
        assertRejected(dir, "tensor \"a\" maps to 7, not a shard file name");
    }

    @Test
    void rejectsAShardOutsideTheIndexDirectory() throws IOException {
        Files.createDirectory(dir.resolve("sub"));
        shard("sub/s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        index("{\"weight_map\": {\"a\": \"sub/s1.safetensors\"}}");
        assertRejected(dir, "names shard \"sub/s1.safetensors\", which is not a plain file name");
    }

    @Test
    void rejectsAMissingShardFile() throws IOException {
        shard("s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        index("{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
        assertRejected(dir, INDEX + ": names shard \"s2.safetensors\", which does not exist");
    }

    @Test
    void rejectsATensorAbsentFromItsShard() throws IOException {
        shard("s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        shard("s2.safetensors", Map.of("b", new float[] {2}), Map.of());
        index("{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\", \"c\": \"s2.safetensors\"}}");
        assertRejected(dir, INDEX + ": tensor \"c\" is not in shard \"s2.safetensors\", where the weight_map puts it");
    }

    @Test
    void rejectsATensorInAnotherShardThanTheIndexSays() throws IOException {
        shard("s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        shard("s2.safetensors", Map.of("b", new float[] {2}), Map.of());
        index("{\"weight_map\": {\"a\": \"s2.safetensors\", \"b\": \"s2.safetensors\", \"x\": \"s1.safetensors\"}}");
        assertRejected(dir, "tensor \"a\" is not in shard \"s2.safetensors\", where the weight_map puts it, but in "
                + "\"s1.safetensors\"");
    }

    @Test
    void rejectsTheSameTensorInTwoShards() throws IOException {
        shard("s1.safetensors", Map.of("a", new float[] {1}), Map.of());
        shard("s2.safetensors", ordered("b", new float[] {2}, "a", new float[] {1}), Map.of());
        index("{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
        assertRejected(dir, "tensor \"a\" is in two shards, \"s1.safetensors\" and \"s2.safetensors\"");
    }

    @Test
    void rejectsAShardTensorMissingFromTheIndex() throws IOException {
        shard("s1.safetensors", ordered("a", new float[] {1}, "extra", new float[] {2}), Map.of());
        index("{\"weight_map\": {\"a\": \"s1.safetensors\"}}");
        assertRejected(dir, INDEX + ": tensor \"extra\" is in shard \"s1.safetensors\" but not in the weight_map");
    }

    @Test
    void rejectsAMalformedShardNamingIt() throws IOException {
        CraftedFiles.write(dir.resolve("s1.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]);
        index("{\"weight_map\": {\"a\": \"s1.safetensors\"}}");
        assertRejected(dir, "s1.safetensors: tensor \"a\" has no data_offsets");
    }

    /** Writes F32 tensors, in the map's order, into shard {@code name}. */
    private Path shard(String name, Map<String, float[]> tensors, Map<String, String> metadata) throws IOException {
        Path file = dir.resolve(name);
        List<TensorInfo> infos = tensors.entrySet().stream()
                .map(e -> new TensorInfo(e.getKey(), DType.F32, e.getValue().length))
                .toList();
        try (var writer = SafetensorsWriter.create(file, infos, metadata)) {
            for (TensorInfo info : infos) {
                writer.write(info.name(), MemorySegment.ofArray(tensors.get(info.name())));
            }
        }
        return file;
    }

    private void index(String json) throws IOException {
        Files.writeString(dir.resolve(INDEX), json);
    }

    private static Map<String, float[]> ordered(String k1, float[] v1, String k2, float[] v2) {
        Map<String, float[]> map = new LinkedHashMap<>();
        map.put(k1, v1);
        map.put(k2, v2);
        return map;
    }

    private static void assertRejected(Path path, String reason) {
        var e = assertThrows(SafetensorsException.class, () -> SafetensorsCheckpoint.open(path).close());
        assertTrue(e.getMessage().contains(reason), () -> "\"" + e.getMessage() + "\" does not say " + reason);
    }
}
