package dev.dpn.cli;

import dev.dpn.runtime.DpnModel;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which model to load and on how many threads: shared by the commands that run a model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A llava-hf model folder (config.json, safetensors, tokenizer). Default: the embedded "
                    + EmbeddedModel.NAME + ".")
    Path folder;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads. Default: all cores (${DEFAULT-VALUE}).")
    int threads = Runtime.getRuntime().availableProcessors();

    DpnModel load() throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        }
        return DpnModel.load(folder != null ? folder : EmbeddedModel.folder(), threads);
    }
}
