package dev.dpn.runtime.synthetic;

import dev.dpn.loader.SafetensorsWriter;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * A llava-hf model folder with random weights for any {@link LlavaConfig}: the exact tensor names, shapes and
 * sharding of a real checkpoint (see {@link LlavaTensorPlan} for the scales), for exercising the runtime at full
 * size without downloading one. The weights are a function of the seed alone, and are streamed to disk in chunks:
 * memory use does not grow with the model.
 */
public final class RandomCheckpoint {
    /** Elements generated per write: 2 MiB of F16, small enough to stay in cache, large enough to amortise a call. */
    private static final int CHUNK_ELEMENTS = 1 << 20;
    /** What transformers writes into each shard's header. */
    private static final Map<String, String> SHARD_METADATA = Map.of("format", "pt");

    private final LlavaConfig config;
    private final DType dtype;
    private final List<PlannedTensor> tensors;

    private RandomCheckpoint(LlavaConfig config, DType dtype, List<PlannedTensor> tensors) {
        this.config = config;
        this.dtype = dtype;
        this.tensors = tensors;
    }

    /**
     * The checkpoint of {@code config} with weights stored as {@code dtype}.
     *
     * @throws IllegalArgumentException if {@code dtype} is not F16, BF16 or F32
     */
    public static RandomCheckpoint of(LlavaConfig config, DType dtype) {
        if (dtype != DType.F16 && dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("random weights are F16, BF16 or F32, not " + dtype);
        }
        return new RandomCheckpoint(config, dtype, LlavaTensorPlan.of(config, dtype));
    }

    public LlavaConfig config() {
        return config;
    }

    /** Every tensor, in the order they are written. */
    public List<TensorInfo> tensors() {
        return tensors.stream().map(PlannedTensor::info).toList();
    }

    public long parameterCount() {
        return tensors.stream().mapToLong(t -> t.info().elementCount()).sum();
    }

    public long byteSize() {
        return tensors.stream().mapToLong(t -> t.info().byteSize()).sum();
    }

    /** Writes {@code config.json} and {@code generation_config.json} into {@code folder}, creating it if need be. */
    public void writeConfig(Path folder) throws IOException {
        Files.createDirectories(folder);
        ModelFolderJson.writeConfigs(config, dtype, folder);
    }

    /**
     * Writes the weights into {@code folder}: {@code model.safetensors} if they fit in one shard of
     * {@code maxShardBytes}, else numbered shards and {@code model.safetensors.index.json}.
     *
     * @param seed     the same seed gives the same bytes
     * @param progress told the byte count of each chunk as it is written
     * @return the files written, index last
     */
    public List<Path> writeWeights(Path folder, long seed, long maxShardBytes, LongConsumer progress)
            throws IOException {
        Files.createDirectories(folder);
        List<Shards.Shard> shards = Shards.split(tensors, maxShardBytes);
        List<Path> written = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chunk = arena.allocate(dtype.byteSize(CHUNK_ELEMENTS), Long.BYTES);
            for (Shards.Shard shard : shards) {
                Path file = folder.resolve(shard.fileName());
                writeShard(file, shard, seed, chunk, progress);
                written.add(file);
            }
        }
        if (shards.size() > 1) {
            written.add(ModelFolderJson.writeIndex(shards, folder));
        }
        return List.copyOf(written);
    }

    private void writeShard(Path file, Shards.Shard shard, long seed, MemorySegment chunk, LongConsumer progress)
            throws IOException {
        List<TensorInfo> infos = shard.tensors().stream().map(PlannedTensor::info).toList();
        try (SafetensorsWriter writer = SafetensorsWriter.create(file, infos, SHARD_METADATA)) {
            for (PlannedTensor tensor : shard.tensors()) {
                long key = CounterRandom.tensorKey(seed, tensor.name());
                long count = tensor.info().elementCount();
                for (long first = 0; first < count; first += CHUNK_ELEMENTS) {
                    long n = Math.min(CHUNK_ELEMENTS, count - first);
                    MemorySegment bytes = chunk.asSlice(0, dtype.byteSize(n));
                    CounterRandom.fill(key, tensor.init(), first, n, dtype, bytes);
                    writer.write(tensor.name(), bytes);
                    progress.accept(bytes.byteSize());
                }
            }
        }
    }
}
