package dev.dpn.bench.llamacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dpn.loader.gguf.LlamaGgufExport;
import dev.dpn.measure.Rate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The side-by-side benchmark's turns: each engine measured in JVMs of its own, results read back and summarised. */
// java-llama.cpp bundles llama.cpp for Linux x86_64 (and others this project does not test on).
@EnabledOnOs(value = OS.LINUX, architectures = "amd64")
class LlamaCppComparisonTest {
    private static final Path MODEL = Path.of("../models/tiny-llava");

    @Test
    void eachEngineRunsInItsOwnJvmAndTheRunsAreSummarised(@TempDir Path dir) throws Exception {
        Path gguf = dir.resolve("tiny-llava.gguf");
        LlamaGgufExport.export(MODEL, gguf);
        var options = new LlamaCppComparison.Options(MODEL, gguf, null, 1, 40, 4, 2, false, null);

        LlamaCppComparison.Report report = LlamaCppComparison.compare(options);

        assertEquals(2, report.turns().size());
        for (LlamaCppComparison.Turn turn : report.turns()) {
            assertEquals(40, turn.dpn().promptTokens());
            assertEquals(40, turn.llamaCpp().promptTokens());
            assertEquals(4, turn.llamaCpp().pieces().size());
            // The same greedy continuation from both engines, as LlamaCppAgreementTest checks in one JVM.
            assertEquals(4, turn.agreeingTokens(), turn.dpn().pieces() + " vs " + turn.llamaCpp().pieces());
        }
        for (Rate rate : new Rate[] {report.dpn().prompt(), report.dpn().decode(), report.llamaCpp().prompt(),
                report.llamaCpp().decode()}) {
            assertTrue(rate.min() > 0 && rate.min() <= rate.median() && rate.median() <= rate.max(), rate.toString());
        }
    }

    @Test
    void aFailedRunNamesTheEngine(@TempDir Path dir) throws IOException {
        Path gguf = dir.resolve("not-a-model.gguf");
        Files.writeString(gguf, "not a GGUF file");
        var options = new LlamaCppComparison.Options(MODEL, gguf, null, 1, 40, 4, 1, false, null);

        var failure = assertThrows(IllegalStateException.class,
                () -> LlamaCppComparison.compare(options));
        assertTrue(failure.getMessage().contains("llama.cpp run 1 failed"), failure.getMessage());
    }
}
