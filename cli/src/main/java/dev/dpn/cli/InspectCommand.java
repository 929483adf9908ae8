package dev.dpn.cli;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.loader.TensorInfo;
import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.loader.config.VisionConfig;
import dev.dpn.tensors.DType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dpn inspect}: a model folder's summary (parts, dtypes, parameters, DPE setup, memory) or a checkpoint's
 * tensor table, from headers and config alone: no weight is read.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Summarises a model folder (parts, parameters, dtypes, DPE setup, memory), or lists the "
                + "tensors of a safetensors file. Without an argument: the embedded model."})
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", arity = "0..1", description = "A model folder, a .safetensors file or a "
            + "model.safetensors.index.json.")
    Path path;

    @Option(names = "--tensors", description = "Also list every tensor of a model folder.")
    boolean tensors;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path target = path != null ? path : EmbeddedModel.folder();
        if (!Files.exists(target)) {
            throw new IllegalArgumentException("no such file or folder: " + target);
        }
        PrintWriter out = spec.commandLine().getOut();
        boolean modelFolder = Files.isRegularFile(target.resolve("config.json"));
        try (var checkpoint = SafetensorsCheckpoint.open(target)) {
            if (modelFolder) {
                summary(LlavaConfig.read(target.resolve("config.json")), checkpoint, target, out);
            }
            if (!modelFolder || tensors) {
                table(checkpoint, out);
            }
        }
        return 0;
    }

    private static void summary(LlavaConfig config, SafetensorsCheckpoint checkpoint, Path folder, PrintWriter out) {
        VisionConfig v = config.visionConfig();
        TextConfig t = config.textConfig();
        out.printf("model     %s%n", folder.toAbsolutePath().normalize());
        out.printf(Locale.ROOT, "vision    CLIP ViT: %d px, patch %d (%dx%d grid), %d layers (%d used), hidden %d, "
                        + "%d heads, MLP %d, %s%n", v.imageSize(), v.patchSize(), v.gridSize(), v.gridSize(),
                v.numHiddenLayers(), config.visionLayersUsed(), v.hiddenSize(), v.numAttentionHeads(),
                v.intermediateSize(), v.hiddenAct());
        out.printf("projector %s: %d -> %d -> %d%n", config.projectorHiddenAct(), v.hiddenSize(), t.hiddenSize(),
                t.hiddenSize());
        out.printf(Locale.ROOT, "decoder   Llama: %d layers, hidden %d, %d heads (%d key/value), MLP %d, vocab %d, "
                        + "context %d, RoPE theta %.0f%s%n", t.numHiddenLayers(), t.hiddenSize(),
                t.numAttentionHeads(), t.numKeyValueHeads(), t.intermediateSize(), t.vocabSize(),
                t.maxPositionEmbeddings(), t.ropeTheta(), config.tieWordEmbeddings() ? ", tied embeddings" : "");
        PoolingConfig p = config.pooling();
        if (p.type() == PoolingConfig.Type.NONE) {
            out.println("pooling   none (plain LLaVA; --pooling static:... or random still works)");
        } else {
            out.printf("pooling   %s, %s, %s, router %s%s%n", lower(p.type()), lower(p.function()),
                    lower(p.location()), lower(p.routerVersion()),
                    p.useSpecialToken() ? ", reads <ROUTER>" : ", reads the last prompt token");
            for (DpeLayer layer : p.layers()) {
                out.printf("          DPE at layer %d, experts %s%n", layer.index(), layer.experts());
            }
        }
        config.warnings().forEach(w -> out.println("warning   " + w));

        Map<String, long[]> parts = new LinkedHashMap<>(); // part -> {parameters, bytes}
        Map<DType, Long> byType = new TreeMap<>();
        long bytes = 0;
        for (String name : checkpoint.names()) {
            TensorInfo info = checkpoint.info(name);
            long[] sums = parts.computeIfAbsent(part(name), k -> new long[2]);
            sums[0] += info.elementCount();
            sums[1] += info.byteSize();
            byType.merge(info.dtype(), info.byteSize(), Long::sum);
            bytes += info.byteSize();
        }
        parts.forEach((part, s) -> out.printf(Locale.ROOT, "part      %-22s %,15d parameters  %s%n", part, s[0],
                human(s[1])));
        out.printf("weights   %s mapped from %d file(s): %s%n", human(bytes), checkpoint.files().size(), byType);
        long kvPerToken = 2L * t.numHiddenLayers() * t.kvDim() * Float.BYTES;
        out.printf("KV cache  %s per token (F32), %s for the full context of %d%n", human(kvPerToken),
                human(kvPerToken * t.maxPositionEmbeddings()), t.maxPositionEmbeddings());
    }

    /** The model part a tensor belongs to, by its llava-hf name (transformers 4.x or 5.x). */
    private static String part(String name) {
        String n = name.startsWith("model.") ? name.substring("model.".length()) : name;
        if (n.contains(".pooling_router.") || n.contains(".experts.")) {
            return "DPE routers/experts";
        }
        if (n.startsWith("vision_tower.")) {
            return "vision tower";
        }
        if (n.startsWith("multi_modal_projector.")) {
            return "projector";
        }
        if (n.endsWith("lm_head.weight")) {
            return "LM head";
        }
        if (n.contains("embed_tokens")) {
            return "token embeddings";
        }
        return n.startsWith("language_model.") ? "decoder layers" : "other";
    }

    private static void table(SafetensorsCheckpoint checkpoint, PrintWriter out) {
        int nameWidth = Math.max(4, checkpoint.names().stream().mapToInt(String::length).max().orElse(0));
        String row = "%-" + nameWidth + "s  %-5s  %-22s  %12s%n";
        out.printf(row, "name", "dtype", "shape", "bytes");
        Map<DType, long[]> byType = new TreeMap<>(); // dtype -> {tensors, elements, bytes}
        for (String name : checkpoint.names()) {
            TensorInfo t = checkpoint.info(name);
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
                checkpoint.files().size());
        checkpoint.metadata().forEach((k, v) -> out.printf("metadata %s = %s%n", k, abbreviate(v)));
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
        return String.format(Locale.ROOT, "%.1f %siB", bytes / Math.pow(1024, unit), "KMGTPE".charAt(unit - 1));
    }

    private static String abbreviate(String value) {
        return value.length() <= 100 ? value : value.substring(0, 97) + "...";
    }
}
