package dev.dpn.cli;

import dev.dpn.loader.gguf.LlamaGgufExport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dpn gguf}: the language model of a llava-hf folder as a GGUF file for llama.cpp, so that both engines can
 * run the identical weights side by side.
 */
@Command(name = "gguf", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes the Llama decoder of a llava-hf model folder (weights as stored: F16, BF16, F32, Q8_0 "
                + "or Q4_0; its tokenizer) as a GGUF v3 file that llama.cpp runs as architecture llama. The vision "
                + "tower, projector and DPN routers are left out."})
final class GgufCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The llava-hf model folder.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The GGUF file to write.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException(model + " is not a model folder: it has no config.json");
        }
        long start = System.nanoTime();
        LlamaGgufExport.Summary summary = LlamaGgufExport.export(model, out);
        double seconds = (System.nanoTime() - start) / 1e9;
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "wrote %s: %d tensors, %s of %s weights, vocabulary %d, %.1f s%n", out,
                summary.tensors(), InspectCommand.human(summary.bytes()), summary.matrixType(), summary.vocabulary(),
                seconds);
        return 0;
    }
}
