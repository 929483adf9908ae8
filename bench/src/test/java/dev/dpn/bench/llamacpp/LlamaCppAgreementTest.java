package dev.dpn.bench.llamacpp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dpn.loader.gguf.LlamaGgufExport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The strongest check of the GGUF export: llama.cpp loads the tiny LLaVA's decoder as a llama model, tokenizes
 * text exactly as dpn does, and continues a prompt greedily with the same tokens.
 */
// java-llama.cpp bundles llama.cpp for Linux x86_64 (and others this project does not test on).
@EnabledOnOs(value = OS.LINUX, architectures = "amd64")
class LlamaCppAgreementTest {
    private static final Path MODEL = Path.of("../models/tiny-llava");
    private static final int TOKENS = 16;

    @TempDir
    static Path dir;
    static Path gguf;

    @BeforeAll
    static void export() throws IOException {
        gguf = dir.resolve("tiny-llava.gguf");
        LlamaGgufExport.export(MODEL, gguf);
    }

    /** With the weights in memory (--no-mmap) on both sides: mapped ones give the same numbers (WeightLoadingTest). */
    @Test
    void llamaCppTokenizesAndContinuesAsDpnDoes() throws IOException {
        try (DpnGreedy dpn = new DpnGreedy(MODEL, 1, true);
             LlamaCppGreedy llama = new LlamaCppGreedy(gguf, 1, 256, true)) {
            for (String text : List.of("What color is the background?", "Héllo wörld, 1234 — naïve café 🙂\tok")) {
                assertArrayEquals(dpn.tokenizer().encode(text, false), llama.encode(text), text);
            }
            String prompt = "USER: How many dots are there? ASSISTANT:";
            GreedyRun ours = dpn.run(prompt, TOKENS);
            GreedyRun theirs = llama.run(prompt, TOKENS);
            assertEquals(ours.promptTokens(), theirs.promptTokens());
            assertEquals(TOKENS, theirs.pieces().size());
            // dpn decodes a lone token without its leading space ("▁circle" as "circle"), llama.cpp with it.
            assertEquals(TOKENS, ours.agreeingTokens(theirs), ours.pieces() + " vs " + theirs.pieces());
        }
    }
}
