package dev.dpn.bench.llamacpp;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.Sampler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * llama.cpp (build 4916, bundled by java-llama.cpp 4.2.0) on a GGUF file: greedy decoding (top-k 1) with the
 * end-of-sequence token banned, each prompt processed afresh, timed from the streamed tokens.
 */
final class LlamaCppGreedy implements AutoCloseable {
    private final LlamaModel model;

    /** {@code inMemory}: reads the weights into memory instead of mapping them (llama.cpp's --no-mmap). */
    LlamaCppGreedy(Path gguf, int threads, int context, boolean inMemory) {
        ModelParameters parameters = new ModelParameters().setModel(gguf.toString()).setThreads(threads)
                .setThreadsBatch(threads).setCtxSize(context).disableLog();
        model = new LlamaModel(inMemory ? parameters.disableMmap() : parameters);
    }

    /** llama.cpp's tokens for {@code text}, without the beginning-of-sequence token. */
    int[] encode(String text) {
        return model.encode(text);
    }

    GreedyRun run(String prompt, int tokens) {
        InferenceParameters request = new InferenceParameters(prompt).setNPredict(tokens).setTemperature(0)
                .setTopK(1).setSamplers(Sampler.TOP_K).setIgnoreEos(true).setCachePrompt(false);
        List<String> pieces = new ArrayList<>();
        long start = System.nanoTime();
        long first = 0;
        long last = 0;
        for (LlamaOutput output : model.generate(request)) {
            // The stream ends with an empty message that stops it; it is no token.
            if (pieces.size() < tokens) {
                last = System.nanoTime();
                first = pieces.isEmpty() ? last : first;
                pieces.add(output.text);
            }
        }
        return new GreedyRun(encode(prompt).length + 1, (first - start) / 1e9, (last - first) / 1e9, pieces);
    }

    @Override
    public void close() {
        model.close();
    }
}
