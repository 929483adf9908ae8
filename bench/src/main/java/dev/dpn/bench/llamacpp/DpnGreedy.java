package dev.dpn.bench.llamacpp;

import dev.dpn.kernels.cpu.CpuBackend;
import dev.dpn.loader.config.PoolingConfig;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.runtime.model.LlavaModel;
import dev.dpn.runtime.model.LlavaSession;
import dev.dpn.runtime.model.SessionOptions;
import dev.dpn.runtime.model.WeightLoading;
import dev.dpn.runtime.text.Tokenizer;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * dpn's decoder on a text-only prompt, as llama.cpp runs a GGUF: no image, no pooling, greedy decoding that never
 * picks the end-of-sequence token (llama.cpp's {@code ignore_eos}), so that both engines decode the same count.
 */
final class DpnGreedy implements AutoCloseable {
    private final CpuBackend backend;
    private final LlavaModel model;
    private final Tokenizer tokenizer;

    /** {@code inMemory}: copies the weights into memory instead of mapping them ({@code --no-mmap}). */
    DpnGreedy(Path folder, int threads, boolean inMemory) throws IOException {
        tokenizer = Tokenizer.of(TokenizerFiles.read(folder));
        backend = new CpuBackend(threads);
        try {
            model = LlavaModel.load(folder, backend, new WeightLoading(null, inMemory));
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    GreedyRun run(String prompt, int tokens) {
        int[] ids = tokenizer.encode(prompt, true);
        int eos = tokenizer.specialIds().eos();
        SessionOptions options = SessionOptions.defaults().withPooling(PoolingConfig.NONE).withMaxNewTokens(tokens);
        List<String> pieces = new ArrayList<>();
        try (LlavaSession session = model.newSession(options)) {
            long start = System.nanoTime();
            Tensor logits = session.prefill(ids, null);
            int token = argmaxExcept(logits, eos);
            long first = System.nanoTime();
            pieces.add(tokenizer.decode(token));
            for (int i = 1; i < tokens; i++) {
                token = argmaxExcept(session.decode(token), eos);
                pieces.add(tokenizer.decode(token));
            }
            long last = System.nanoTime();
            return new GreedyRun(ids.length, (first - start) / 1e9, (last - first) / 1e9, pieces);
        }
    }

    private int argmaxExcept(Tensor logits, int excluded) {
        int vocabulary = Math.min(tokenizer.vocabularySize(), Math.toIntExact(logits.size()));
        int best = -1;
        for (int i = 0; i < vocabulary; i++) {
            if (i != excluded && (best < 0 || logits.getFloat(i) > logits.getFloat(best))) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() {
        model.close();
        backend.close();
    }
}
