package dev.dpn.cli;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.TensorInfo;
import dev.dpn.tensors.DType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code dpn inspect}: the tensor table of a checkpoint, read from headers only (no weight is touched). */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Lists the tensors of a safetensors checkpoint: name, dtype, shape and bytes, then totals.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "CHECKPOINT",
            description = "A .safetensors file, a model.safetensors.index.json, or a folder holding either.")
    private Path checkpoint;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.exists(checkpoint)) {
            throw new IllegalArgumentException("no such file or folder: " + checkpoint);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (var model = SafetensorsCheckpoint.open(checkpoint)) {
            int nameWidth = Math.max(4, model.names().stream().mapToInt(String::length).max().orElse(0));
            String row = "%-" + nameWidth + "s  %-5s  %-22s  %12s%n";
            out.printf(row, "name", "dtype", "shape", "bytes");
            Map<DType, long[]> byType = new EnumMap<>(DType.class); // dtype -> {tensors, elements, bytes}
            for (String name : model.names()) {
                TensorInfo t = model.info(name);
                out.printf(row, name, t.dtype(), Arrays.toString(t.shape()), String.format("%,d", t.byteSize()));
                long[] sums = byType.computeIfAbsent(t.dtype(), d -> new long[3]);
                sums[0]++;
                sums[1] += t.elementCount();
                sums[2] += t.byteSize();
            }
            out.println();
            long tensors = 0, elements = 0, bytes = 0;
            for (var e : byType.entrySet()) {
                long[] s = e.getValue();
                out.printf("%-5s  %,d tensors, %,d elements, %s%n", e.getKey(), s[0], s[1], human(s[2]));
                tensors += s[0];
                elements += s[1];
                bytes += s[2];
            }
            out.printf("total  %,d tensors, %,d elements, %s in %d file(s)%n", tensors, elements, human(bytes),
                    model.files().size());
            model.metadata().forEach((k, v) -> out.printf("metadata %s = %s%n", k, abbreviate(v)));
        }
        return 0;
    }

    private static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
        return String.format("%.1f %siB", bytes / Math.pow(1024, unit), "KMGTPE".charAt(unit - 1));
    }

    private static String abbreviate(String value) {
        return value.length() <= 100 ? value : value.substring(0, 97) + "...";
    }
}
