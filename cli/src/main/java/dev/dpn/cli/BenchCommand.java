package dev.dpn.cli;

import dev.dpn.runtime.Device;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dpn bench}: one run that measures a model end to end (open, vision tower, projector, LLM prefill, time to
 * first token under each pooling, decode, memory) next to the machine's baselines, prints a table and writes JSON.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measures a model folder in one run: open time, vision tower and projector ms, LLM prefill "
                + "tokens/s and GFLOPS, time to first token for one image and a 40-token question with pooling none, "
                + "static x2, static x4 and adaptive, decode tokens/s and GB/s of weights, peak RSS and heap; then "
                + "OpenBLAS sgemm (cuBLAS alone on a GPU) at the prefill's GEMM shapes and the memory read bandwidth, "
                + "with ratios.",
                "Give the JVM -Xmx256m to see that the weights stay off the heap."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The llava-hf model folder.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads for dpn, OpenBLAS and the read loop "
            + "(default: all cores, ${DEFAULT-VALUE}).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--runs", paramLabel = "N", description = "Timed requests per pooling setup, after one warm-up "
            + "request (default ${DEFAULT-VALUE}).")
    int runs = 2;

    @Option(names = "--decode-tokens", paramLabel = "N", description = "Tokens decoded after each unpooled prompt "
            + "(default ${DEFAULT-VALUE}).")
    int decodeTokens = 16;

    @Option(names = "--image", paramLabel = "FILE", description = "The image (default: a generated test picture).")
    Path image;

    @Option(names = "--device", paramLabel = "cpu|cuda|auto", converter = ModelOptions.DeviceConverter.class,
            description = "Where the model runs (default: cpu). On cuda the baselines are cuBLAS alone and a read of "
                    + "device memory.")
    Device device = Device.CPU;

    @Option(names = "--no-mmap", description = "Copy the linear layers into memory instead of reading them from the "
            + "mapped checkpoint (the model open time then includes the copy).")
    boolean noMmap;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON, to compare runs.")
    Path json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (threads < 1 || runs < 1 || decodeTokens < 1) {
            throw new IllegalArgumentException("--threads, --runs and --decode-tokens must be at least 1");
        }
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException(model + " is not a model folder: it has no config.json");
        }
        if (image != null && !Files.isRegularFile(image)) {
            throw new IllegalArgumentException("image not found: " + image);
        }
        PrintWriter err = spec.commandLine().getErr();
        ModelBenchmark benchmark = new ModelBenchmark(model, device, noMmap, threads, runs, decodeTokens, image, step -> {
            err.println("bench: " + step);
            err.flush();
        });
        BenchReport report = benchmark.run();
        PrintWriter out = spec.commandLine().getOut();
        report.print(out);
        if (json != null) {
            report.write(json);
            out.println("report: " + json);
        }
        out.flush();
        return 0;
    }
}
