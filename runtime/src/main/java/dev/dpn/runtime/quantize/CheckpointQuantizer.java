package dev.dpn.runtime.quantize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.SafetensorsFile;
import dev.dpn.loader.SafetensorsWriter;
import dev.dpn.loader.TensorInfo;
import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a copy of a llava-hf model folder whose linear layers are stored as Q8_0 or Q4_0, streaming one tensor at
 * a time (never the model in memory): the same files, shards and tensor names, the other files copied as they are.
 *
 * <p>Quantized are the weight matrices of the linear layers that decode and prefill spend their time in: the
 * decoder's attention and MLP projections and {@code lm_head}, the vision tower's attention and MLP projections,
 * and the projector. Everything else keeps its stored precision: norms, biases, the DPN routers and conv experts
 * (small, and their argmax decides which pooling runs), token embeddings (read one row per token, so their size
 * costs no time; tied to the LM head in the tiny models), and CLIP's patch and position embeddings. A matrix whose
 * rows are not a whole number of 32-weight blocks is kept too.
 */
public final class CheckpointQuantizer {
    private static final String INDEX_FILE = "model.safetensors.index.json";
    /** Linear-layer weights in either transformers layout, by the end of their names. */
    private static final Pattern LINEAR = Pattern.compile(
            "(?:\\.self_attn\\.(?:[qkvo]_proj|out_proj)|\\.mlp\\.(?:gate_proj|up_proj|down_proj|fc1|fc2)"
                    + "|multi_modal_projector\\.linear_[12]|(?:^|\\.)lm_head)\\.weight$");
    /** Rows quantized per step: bounds the buffer, whatever the size of the matrix. */
    private static final long CHUNK_BYTES = 16L << 20;

    /**
     * What was written: the number of tensors quantized and kept as stored, the linear weights kept because their
     * rows are not whole blocks, and the bytes of tensor data read and written.
     */
    public record Summary(int quantized, int kept, List<String> notWholeBlocks, long bytesIn, long bytesOut) {
    }

    private CheckpointQuantizer() {
    }

    /**
     * Whether the tensor {@code name} of shape {@code shape} is stored as {@code type} in the quantized copy; also
     * what {@link dev.dpn.runtime.model.LlavaModel#load(Path, dev.dpn.kernels.Backend, DType)} quantizes on load.
     */
    public static boolean quantizes(String name, long[] shape, DType type) {
        return isLinearWeight(name) && shape.length == 2 && shape[1] % type.blockSize() == 0;
    }

    /**
     * Refuses a type this quantizer cannot write.
     *
     * @throws IllegalArgumentException unless {@code type} is Q8_0 or Q4_0
     */
    public static void requireTarget(DType type) {
        if (type != DType.Q8_0 && type != DType.Q4_0) {
            throw new IllegalArgumentException("cannot quantize to " + type + "; Q8_0 or Q4_0");
        }
    }

    static boolean isLinearWeight(String name) {
        return LINEAR.matcher(name).find();
    }

    /**
     * Quantizes the model in {@code source} into the new or empty folder {@code out}; {@code progress} hears the
     * source bytes as they are done.
     *
     * @throws IllegalArgumentException if {@code type} is not Q8_0 or Q4_0, or the source is quantized already
     * @throws dev.dpn.loader.SafetensorsException if the source checkpoint is malformed
     */
    public static Summary quantize(Path source, Path out, DType type, LongConsumer progress) throws IOException {
        requireTarget(type);
        int quantized = 0, kept = 0;
        List<String> notWholeBlocks = new ArrayList<>();
        long bytesIn = 0, bytesOut = 0;
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(source)) {
            for (String name : checkpoint.names()) {
                DType stored = checkpoint.info(name).dtype();
                if (stored.isQuantized()) {
                    throw new IllegalArgumentException(source + ": " + name + " is already " + stored
                            + "; quantize an F32, F16 or BF16 checkpoint");
                }
            }
            Files.createDirectories(out);
            for (SafetensorsFile file : checkpoint.files()) {
                List<TensorInfo> infos = new ArrayList<>();
                for (String name : file.names()) {
                    TensorInfo info = file.info(name);
                    boolean quantize = quantizes(name, info.shape(), type);
                    if (!quantize && isLinearWeight(name)) {
                        notWholeBlocks.add(name);
                    }
                    infos.add(quantize ? new TensorInfo(name, type, info.shape()) : info);
                }
                Path target = out.resolve(file.path().getFileName());
                try (SafetensorsWriter writer = SafetensorsWriter.create(target, infos, file.metadata())) {
                    for (TensorInfo info : infos) {
                        Tensor tensor = file.tensor(info.name());
                        if (info.dtype() != tensor.dtype()) {
                            writeQuantized(writer, info.name(), tensor, type);
                            quantized++;
                        } else {
                            writer.write(info.name(), tensor.data());
                            kept++;
                        }
                        bytesIn += tensor.byteSize();
                        bytesOut += info.byteSize();
                        progress.accept(tensor.byteSize());
                    }
                }
            }
        }
        copyOtherFiles(source, out, bytesOut);
        return new Summary(quantized, kept, List.copyOf(notWholeBlocks), bytesIn, bytesOut);
    }

    private static void writeQuantized(SafetensorsWriter writer, String name, Tensor matrix, DType type)
            throws IOException {
        long rows = matrix.dim(0);
        long k = matrix.dim(1);
        long rowsPerChunk = Math.max(1, CHUNK_BYTES / type.byteSize(k));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(type.byteSize(Math.min(rows, rowsPerChunk) * k));
            for (long row = 0; row < rows; row += rowsPerChunk) {
                long count = Math.min(rowsPerChunk, rows - row);
                Tensor chunk = Tensor.of(buffer.asSlice(0, type.byteSize(count * k)), type, count, k);
                BlockQuantizer.quantize(matrix.rows(row, row + count), chunk);
                writer.write(name, chunk.data());
            }
        }
    }

    /**
     * Copies config, tokenizer and template files; a sharded checkpoint's index gets the new total size (its
     * weight map still holds, since every tensor stays in its shard).
     */
    private static void copyOtherFiles(Path source, Path out, long totalBytes) throws IOException {
        if (!Files.isDirectory(source)) {
            return;
        }
        List<Path> others;
        try (Stream<Path> entries = Files.list(source)) {
            others = entries.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().endsWith(".safetensors"))
                    .toList();
        }
        ObjectMapper json = new ObjectMapper();
        for (Path file : others) {
            Path target = out.resolve(file.getFileName());
            if (file.getFileName().toString().equals(INDEX_FILE)) {
                ObjectNode index = (ObjectNode) json.readTree(file.toFile());
                index.withObjectProperty("metadata").put("total_size", totalBytes);
                json.writerWithDefaultPrettyPrinter().writeValue(target.toFile(), index);
            } else {
                Files.copy(file, target);
            }
        }
    }
}
