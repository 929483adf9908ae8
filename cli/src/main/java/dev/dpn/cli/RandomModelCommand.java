package dev.dpn.cli;

import dev.dpn.runtime.synthetic.ModelShape;
import dev.dpn.runtime.synthetic.RandomCheckpoint;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code dpn random-model}: a model folder with random weights in the exact shapes, names and sharding of a
 * llava-hf checkpoint, for running the runtime at full size without a download.
 */
@Command(name = "random-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a llava-hf model folder with seeded random weights: the exact shapes of LLaVA-1.5-7B "
                + "or 13B with DPN routers at three layers, or a tiny model for tests. Its answers mean nothing; it "
                + "is for measuring speed and memory at full size."})
final class RandomModelCommand implements Callable<Integer> {
    /** The tokenizer files a llava-hf folder may hold; those present in the source folder are copied. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer.model",
            "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "chat_template.json");
    /** The repository's Llama-2 tokenizer with LLaVA's and DPN's added tokens, when run from a checkout. */
    private static final Path REPOSITORY_TOKENIZER = Path.of("tokenizer", "assets");

    @Option(names = "--shape", required = true, paramLabel = "SHAPE", converter = ShapeConverter.class,
            description = "tiny, 7b (llava-1.5-7b-hf, 14.2 GB in F16) or 13b (llava-1.5-13b-hf, 26.7 GB).")
    ModelShape shape;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write: new or empty.")
    Path out;

    @Option(names = "--seed", paramLabel = "N", description = "The same seed gives the same bytes (${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--dtype", paramLabel = "TYPE", converter = DTypeConverter.class,
            description = "f16 (as llava-hf ships it), bf16 or f32. Default: f16.")
    DType dtype = DType.F16;

    @Option(names = "--shard-size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Largest shard, counted as transformers does: 5GB = 5·10⁹ bytes, 4GiB = 4·2³⁰. "
                    + "Default: 5GB.")
    long shardBytes = 5_000_000_000L;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Where to copy the tokenizer files from. "
            + "Default: tokenizer/assets under the current folder, if there.")
    Path tokenizer;

    @Option(names = "--config-only", description = "Write config.json, generation_config.json and the tokenizer, "
            + "but no weights.")
    boolean configOnly;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        requireEmptyOrAbsent(out);
        PrintWriter stdout = spec.commandLine().getOut();
        RandomCheckpoint checkpoint = RandomCheckpoint.of(shape.config(), dtype);
        String what = String.format(Locale.ROOT, "%s shape, %d tensors, %,d parameters, %s %s", shape.cliName(),
                checkpoint.tensors().size(), checkpoint.parameterCount(), InspectCommand.human(checkpoint.byteSize()),
                dtype);
        checkpoint.writeConfig(out);
        copyTokenizer();
        if (configOnly) {
            stdout.printf("wrote %s: the config of the %s (no weights)%n", out, what);
            return 0;
        }
        long start = System.nanoTime();
        List<Path> files;
        try (ProgressBar bar = Progress.bar("weights")
                .setInitialMax(checkpoint.byteSize()).setUnit(" MB", 1_000_000).showSpeed().build()) {
            files = checkpoint.writeWeights(out, seed, shardBytes, bar::stepBy);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        stdout.printf(Locale.ROOT, "wrote %s: %s, seed %d, in %d file(s), %.1f s (%.0f MB/s)%n", out, what, seed,
                files.size(), seconds, checkpoint.byteSize() / seconds / 1e6);
        return 0;
    }

    static void requireEmptyOrAbsent(Path folder) throws IOException {
        if (Files.exists(folder) && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException("--out " + folder + " is a file, not a folder");
        }
        if (Files.isDirectory(folder)) {
            try (Stream<Path> entries = Files.list(folder)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException("--out " + folder + " is not empty; give a new or empty "
                            + "folder");
                }
            }
        }
    }

    /** The vocabulary (32064 rows) is larger than the tokenizer's 32003 ids: llava-hf pads it, and so do we. */
    private void copyTokenizer() throws IOException {
        Path from = tokenizer != null ? tokenizer
                : Files.isDirectory(REPOSITORY_TOKENIZER) ? REPOSITORY_TOKENIZER : null;
        if (from == null) {
            spec.commandLine().getErr().println("dpn: no tokenizer files written (give --tokenizer DIR); the "
                    + "folder cannot answer prompts without them");
            return;
        }
        List<String> present = TOKENIZER_FILES.stream().filter(f -> Files.isRegularFile(from.resolve(f))).toList();
        if (present.stream().noneMatch(f -> f.equals("tokenizer.json") || f.equals("tokenizer.model"))) {
            throw new IllegalArgumentException("--tokenizer " + from + " holds neither tokenizer.json nor "
                    + "tokenizer.model");
        }
        for (String file : present) {
            Files.copy(from.resolve(file), out.resolve(file));
        }
    }

    static final class ShapeConverter implements ITypeConverter<ModelShape> {
        @Override
        public ModelShape convert(String value) {
            return Arrays.stream(ModelShape.values()).filter(s -> s.cliName().equalsIgnoreCase(value)).findFirst()
                    .orElseThrow(() -> new TypeConversionException("unknown shape '" + value + "'; one of "
                            + Arrays.stream(ModelShape.values()).map(ModelShape::cliName)
                            .collect(Collectors.joining(", "))));
        }
    }

    static final class DTypeConverter implements ITypeConverter<DType> {
        private static final List<DType> CHOICES = List.of(DType.F16, DType.BF16, DType.F32);

        @Override
        public DType convert(String value) {
            return CHOICES.stream().filter(t -> t.name().equalsIgnoreCase(value)).findFirst()
                    .orElseThrow(() -> new TypeConversionException("unknown dtype '" + value + "'; one of f16, "
                            + "bf16, f32"));
        }
    }

    /** A byte count as transformers' max_shard_size reads it: decimal units (KB, MB, GB) and binary ones (KiB...). */
    static final class ByteSizeConverter implements ITypeConverter<Long> {
        private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]i?B|B)?", Pattern.CASE_INSENSITIVE);

        @Override
        public Long convert(String value) {
            Matcher m = SIZE.matcher(value.strip());
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a size such as 5GB, 500MB or 2GiB");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(Long.parseLong(m.group(1)), unit(m.group(2)));
            } catch (ArithmeticException | NumberFormatException e) {
                throw new TypeConversionException("'" + value + "' is too large");
            }
            if (bytes <= 0) {
                throw new TypeConversionException("the shard size must be positive, got '" + value + "'");
            }
            return bytes;
        }

        private static long unit(String unit) {
            if (unit == null || unit.equalsIgnoreCase("B")) {
                return 1;
            }
            int power = "KMGT".indexOf(Character.toUpperCase(unit.charAt(0))) + 1;
            boolean binary = unit.length() == 3;
            return binary ? 1L << (10 * power) : (long) Math.pow(1000, power);
        }
    }
}
