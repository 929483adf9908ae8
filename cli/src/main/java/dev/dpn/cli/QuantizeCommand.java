package dev.dpn.cli;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.runtime.quantize.CheckpointQuantizer;
import dev.dpn.tensors.DType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.TypeConversionException;

/** {@code dpn quantize}: a copy of a model folder with its linear layers in Q8_0 or Q4_0. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a copy of a llava-hf model folder whose linear layers (decoder, lm_head, vision "
                + "tower, projector) are stored as GGML Q8_0 or Q4_0 blocks; norms, biases, routers and embeddings "
                + "keep their precision. Streams one tensor at a time."})
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The llava-hf model folder.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write: new or empty.")
    Path out;

    @Option(names = "--type", required = true, paramLabel = "TYPE", converter = TypeConverter.class,
            description = "q8_0 (8.5 bits per weight) or q4_0 (4.5 bits per weight).")
    DType type;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException("--model " + model + " is not a folder");
        }
        RandomModelCommand.requireEmptyOrAbsent(out);
        long start = System.nanoTime();
        CheckpointQuantizer.Summary summary;
        long total; // also refuses a folder without a readable checkpoint before the progress bar starts
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(model)) {
            total = checkpoint.names().stream().mapToLong(name -> checkpoint.info(name).byteSize()).sum();
        }
        try (ProgressBar bar = Progress.bar("quantize")
                .setInitialMax(total).setUnit(" MB", 1_000_000).showSpeed().build()) {
            summary = CheckpointQuantizer.quantize(model, out, type, bar::stepBy);
        }
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "wrote %s: %d tensors as %s, %d kept as stored, %s -> %s, %.1f s%n", out,
                summary.quantized(), type, summary.kept(), InspectCommand.human(summary.bytesIn()),
                InspectCommand.human(summary.bytesOut()), (System.nanoTime() - start) / 1e9);
        if (!summary.notWholeBlocks().isEmpty()) {
            stdout.printf("kept as stored (rows not a multiple of %d): %s%n", type.blockSize(),
                    summary.notWholeBlocks());
        }
        return 0;
    }

    static final class TypeConverter implements ITypeConverter<DType> {
        private static final List<DType> CHOICES = List.of(DType.Q8_0, DType.Q4_0);

        @Override
        public DType convert(String value) {
            return CHOICES.stream().filter(t -> t.name().equalsIgnoreCase(value)).findFirst()
                    .orElseThrow(() -> new TypeConversionException("unknown type '" + value + "'; q8_0 or q4_0"));
        }
    }
}
