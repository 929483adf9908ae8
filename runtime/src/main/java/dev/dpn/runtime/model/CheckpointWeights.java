package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.TensorInfo;
import dev.dpn.runtime.quantize.CheckpointQuantizer;
import dev.dpn.tensors.BlockQuantizer;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.stream.LongStream;

/**
 * The tensors of a llava-hf checkpoint, asked for by their transformers 4.x names ({@code language_model.model.…})
 * whichever layout the file uses, each checked against the shape the config implies.
 *
 * <p>Matrices stay in the mapped file, in their stored dtype, unless the model is quantized on load: then the
 * linear layers that {@code dpn quantize} would quantize are quantized the same way into the model's arena. Small
 * vectors (norm weights, biases, embeddings added once) are converted to F32 in the model's arena, as the
 * {@link Backend} contract wants them.
 */
final class CheckpointWeights implements AutoCloseable {
    /** How transformers 5.x renamed the 4.x prefixes. */
    private record Rename(String v4, String v5) {
    }

    private static final List<Rename> LAYOUT_5X = List.of(
            new Rename("vision_tower.", "model.vision_tower."),
            new Rename("multi_modal_projector.", "model.multi_modal_projector."),
            new Rename("language_model.model.", "model.language_model."),
            new Rename("language_model.lm_head.", "lm_head."));

    /** Rows converted per task: enough work per task, many tasks to spread over the cores. */
    private static final long CONVERT_ROWS = 64;

    private final Path folder;
    private final SafetensorsCheckpoint checkpoint;
    private final Backend backend;
    private final TensorArena arena;
    /** Q8_0 or Q4_0 to quantize float linear layers into on load, or null to read them as stored. */
    private final DType quantizeTo;
    /** Whether linear layers are copied out of the mapping, see {@link WeightLoading#inMemory}. */
    private final boolean inMemory;
    private final boolean layout5x;
    private final Set<String> used = new HashSet<>();
    /**
     * The threads that convert matrices on load, of the backend's host thread count rather than the common pool's,
     * so that --threads bounds loading too; started by the first conversion, ended by {@link #close}.
     */
    private ForkJoinPool conversions;

    CheckpointWeights(Path folder, SafetensorsCheckpoint checkpoint, Backend backend, TensorArena arena,
                      WeightLoading loading) {
        this.folder = folder;
        this.checkpoint = checkpoint;
        this.backend = backend;
        this.arena = arena;
        this.quantizeTo = loading.quantizeTo();
        this.inMemory = loading.inMemory();
        this.layout5x = checkpoint.names().stream().anyMatch(name -> name.startsWith("model.language_model."));
    }

    boolean contains(String name) {
        return checkpoint.contains(stored(name));
    }

    /**
     * The weight matrix of a linear layer, read in place by {@link Backend#matmul}: F32, F16, BF16, or Q8_0/Q4_0
     * with rows a whole number of 32-weight blocks; quantized or copied into the model's arena if the model's
     * {@link WeightLoading} says so.
     */
    Tensor matrix(String name, long... shape) {
        Tensor tensor = checked(name, shape);
        DType dtype = tensor.dtype();
        if (dtype.isQuantized()) {
            if ((dtype != DType.Q8_0 && dtype != DType.Q4_0) || shape[shape.length - 1] % dtype.blockSize() != 0) {
                throw new ModelLoadException(folder + ": " + stored(name) + " is " + dtype + " with rows of "
                        + shape[shape.length - 1] + "; quantized weights need rows in whole blocks of "
                        + dtype.blockSize());
            }
        } else {
            requireFloat(name, tensor, "weights must be F32, F16, BF16, Q8_0 or Q4_0");
            if (quantizeTo != null && CheckpointQuantizer.quantizes(stored(name), shape, quantizeTo)) {
                return converted(name, tensor, quantizeTo, BlockQuantizer::quantize);
            }
        }
        return inMemory ? converted(name, tensor, dtype, (from, to) -> to.data().copyFrom(from.data())) : tensor;
    }

    /** {@code matrix} converted into {@code type} in the model's arena, by row blocks on the backend's host threads. */
    private Tensor converted(String name, Tensor matrix, DType type, BiConsumer<Tensor, Tensor> conversion) {
        Tensor target = arena.allocate(type, matrix.shape());
        long rows = matrix.dim(0);
        if (conversions == null) {
            conversions = new ForkJoinPool(backend.hostThreads());
        }
        conversions.submit(() -> LongStream.range(0, Math.ceilDiv(rows, CONVERT_ROWS)).parallel().forEach(task -> {
            long from = task * CONVERT_ROWS;
            long to = Math.min(rows, from + CONVERT_ROWS);
            conversion.accept(matrix.rows(from, to), target.rows(from, to));
        })).join();
        // The stored matrix is not read again: its pages leave the process (the OS may keep them cached), so that RSS
        // holds the converted copy alone (7B F16 to Q4_0: peak RSS 4.2 GB, 17.2 GB without this).
        checkpoint.unload(stored(name));
        return target;
    }

    /**
     * A weight read in place by other operations (embedding tables, the patch convolution): F32, F16 or BF16,
     * which those operations read element by element.
     */
    Tensor table(String name, long... shape) {
        return requireFloat(name, checked(name, shape), "embeddings and convolutions must be F32, F16 or BF16");
    }

    private Tensor requireFloat(String name, Tensor tensor, String rule) {
        DType dtype = tensor.dtype();
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new ModelLoadException(folder + ": " + stored(name) + " is " + dtype + "; " + rule);
        }
        return tensor;
    }

    /** A small parameter tensor, converted once to F32 in the model's arena. */
    Tensor vector(String name, long... shape) {
        Tensor tensor = checked(name, shape);
        if (!tensor.dtype().isFloatingPoint()) {
            throw new ModelLoadException(folder + ": " + stored(name) + " is " + tensor.dtype() + ", not a float type");
        }
        Tensor f32 = backend.allocate(arena, DType.F32, shape);
        backend.copy(tensor, f32);
        return f32;
    }

    /**
     * Fails if the checkpoint holds tensors nobody asked for, unless {@code unused} accepts them (by 4.x name): a
     * config with fewer layers or narrower widths than its weights shows up here or in a shape.
     */
    void requireAllUsed(Predicate<String> unused) {
        List<String> unknown = checkpoint.names().stream()
                .filter(name -> !used.contains(name) && !unused.test(layout4x(name)))
                .toList();
        if (!unknown.isEmpty()) {
            throw new ModelLoadException(folder + ": " + unknown.size() + " tensor(s) that config.json does not "
                    + "describe, e.g. " + unknown.subList(0, Math.min(3, unknown.size())));
        }
    }

    private Tensor checked(String name, long[] shape) {
        String stored = stored(name);
        if (!checkpoint.contains(stored)) {
            throw new ModelLoadException(folder + ": " + stored + " is missing (config.json implies "
                    + Arrays.toString(shape) + ")");
        }
        TensorInfo info = checkpoint.info(stored);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new ModelLoadException(folder + ": " + stored + " has shape " + Arrays.toString(info.shape())
                    + ", config says " + Arrays.toString(shape));
        }
        used.add(stored);
        return checkpoint.tensor(stored);
    }

    /** The name in the file's layout. */
    private String stored(String name) {
        if (layout5x) {
            for (Rename rename : LAYOUT_5X) {
                if (name.startsWith(rename.v4())) {
                    return rename.v5() + name.substring(rename.v4().length());
                }
            }
        }
        return name;
    }

    private String layout4x(String name) {
        if (layout5x) {
            for (Rename rename : LAYOUT_5X) {
                if (name.startsWith(rename.v5())) {
                    return rename.v4() + name.substring(rename.v5().length());
                }
            }
        }
        return name;
    }

    /** Ends the conversion threads, if a conversion started them. */
    @Override
    public void close() {
        if (conversions != null) {
            conversions.close();
        }
    }
}
