package dev.dpn.loader;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SequencedSet;

/**
 * The weights of a model: one safetensors file, or shards listed by a {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {tensor: shard file}}}). Each file is mapped once (see
 * {@link SafetensorsFile}); opening parses headers only, whatever the size of the checkpoint.
 *
 * <p>A sharded checkpoint must agree with its index exactly: every shard named exists, every tensor is in the
 * shard the index names and in no other, and no shard holds a tensor the index does not list.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    static final String SINGLE_FILE = "model.safetensors";
    static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path path;
    private final List<SafetensorsFile> files;
    private final SequencedMap<String, SafetensorsFile> fileOf;
    private final Map<String, String> metadata;

    private SafetensorsCheckpoint(Path path, List<SafetensorsFile> files, SequencedMap<String, SafetensorsFile> fileOf,
            Map<String, String> metadata) {
        this.path = path;
        this.files = List.copyOf(files);
        this.fileOf = Collections.unmodifiableSequencedMap(fileOf);
        this.metadata = metadata;
    }

    /**
     * Opens a {@code .safetensors} file, an index ({@code *.json}), or a directory holding {@value #SINGLE_FILE} or,
     * failing that, {@value #INDEX_FILE}.
     *
     * @throws SafetensorsException if a file is malformed or the shards disagree with the index
     * @throws IOException if a file cannot be read
     */
    public static SafetensorsCheckpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (Files.exists(path.resolve(SINGLE_FILE))) {
                return openSingle(path.resolve(SINGLE_FILE));
            }
            if (Files.exists(path.resolve(INDEX_FILE))) {
                return openSharded(path.resolve(INDEX_FILE));
            }
            throw new SafetensorsException(path, "holds neither " + SINGLE_FILE + " nor " + INDEX_FILE);
        }
        return path.getFileName().toString().endsWith(".json") ? openSharded(path) : openSingle(path);
    }

    /** Names of all tensors: in header order for a single file, in weight_map order for a sharded checkpoint. */
    public SequencedSet<String> names() {
        return fileOf.sequencedKeySet();
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** Tensor {@code name}, a view of its mapped file. */
    public Tensor tensor(String name) {
        return fileOf(name).tensor(name);
    }

    /** Drops the pages of tensor {@code name} from this process: see {@link SafetensorsFile#unload}. */
    public void unload(String name) {
        fileOf(name).unload(name);
    }

    /**
     * The single file's {@code __metadata__}, or the index's {@code metadata} for a sharded checkpoint (values
     * that are not strings, such as {@code total_size}, as their JSON text).
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The files, each once; the checkpoint owns them, so close the checkpoint rather than a file. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Unmaps every file; tensors handed out may no longer be read. */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    private SafetensorsFile fileOf(String name) {
        SafetensorsFile file = fileOf.get(name);
        if (file == null) {
            throw new SafetensorsException(path, name, "is not in this checkpoint of " + fileOf.size() + " tensors");
        }
        return file;
    }

    private static SafetensorsCheckpoint openSingle(Path path) throws IOException {
        SafetensorsFile file = SafetensorsFile.open(path);
        SequencedMap<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        file.names().forEach(name -> fileOf.put(name, file));
        return new SafetensorsCheckpoint(path, List.of(file), fileOf, file.metadata());
    }

    private static SafetensorsCheckpoint openSharded(Path index) throws IOException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index, "is malformed JSON: " + Json.describe(e));
        }
        Map<String, String> shardOf = weightMap(index, root);
        Map<String, String> metadata = metadata(index, root);

        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            for (String shard : shardOf.values()) {
                if (!shards.containsKey(shard)) {
                    shards.put(shard, SafetensorsFile.open(shardPath(index, shard)));
                }
            }
            return new SafetensorsCheckpoint(index, new ArrayList<>(shards.values()),
                    matchShardsToIndex(index, shardOf, shards), metadata);
        } catch (IOException | RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** The index's weight_map: tensor name to shard file name, in index order. */
    private static Map<String, String> weightMap(Path index, JsonNode root) {
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(index, "has no weight_map object");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : weightMap.properties()) {
            if (!field.getValue().isTextual()) {
                throw new SafetensorsException(index, field.getKey(), "maps to " + Json.quote(field.getValue())
                        + ", not a shard file name");
            }
            shardOf.put(field.getKey(), field.getValue().textValue());
        }
        return shardOf;
    }

    private static Map<String, String> metadata(Path index, JsonNode root) {
        JsonNode node = root.get("metadata");
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new SafetensorsException(index, "has metadata " + Json.quote(node) + ", not an object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            JsonNode v = field.getValue();
            metadata.put(field.getKey(), v.isTextual() ? v.textValue() : v.toString());
        }
        return Collections.unmodifiableMap(metadata);
    }

    /** Shards are plain file names beside the index: an index cannot send the loader elsewhere. */
    private static Path shardPath(Path index, String shard) {
        Path name = Path.of(shard).getFileName();
        if (name == null || !name.toString().equals(shard) || shard.equals("..")) {
            throw new SafetensorsException(index, "names shard \"" + shard + "\", which is not a plain file name");
        }
        Path path = index.resolveSibling(shard);
        if (!Files.isRegularFile(path)) {
            throw new SafetensorsException(index, "names shard \"" + shard + "\", which does not exist");
        }
        return path;
    }

    private static SequencedMap<String, SafetensorsFile> matchShardsToIndex(Path index, Map<String, String> shardOf,
            Map<String, SafetensorsFile> shards) {
        Map<String, String> holder = new HashMap<>();
        shards.forEach((shard, file) -> {
            for (String name : file.names()) {
                String other = holder.putIfAbsent(name, shard);
                if (other != null) {
                    throw new SafetensorsException(index, name, "is in two shards, \"" + other + "\" and \""
                            + shard + "\"");
                }
                if (!shardOf.containsKey(name)) {
                    throw new SafetensorsException(index, name, "is in shard \"" + shard
                            + "\" but not in the weight_map");
                }
            }
        });
        SequencedMap<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        shardOf.forEach((name, shard) -> {
            String actual = holder.get(name);
            if (!shard.equals(actual)) {
                throw new SafetensorsException(index, name, "is not in shard \"" + shard
                        + "\", where the weight_map puts it" + (actual == null ? "" : ", but in \"" + actual + "\""));
            }
            fileOf.put(name, shards.get(shard));
        });
        return fileOf;
    }
}
