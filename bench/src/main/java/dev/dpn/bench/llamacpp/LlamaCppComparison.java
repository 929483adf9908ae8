package dev.dpn.bench.llamacpp;

import dev.dpn.measure.ReportFile;
import dev.dpn.runtime.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.Locale;

/**
 * dpn and llama.cpp side by side in one run on the identical decoder: a llava-hf folder and the GGUF that
 * {@code dpn gguf} wrote from it. Both process the same text prompt (616 tokens by default, the length of
 * LLaVA-1.5's image prompt) and decode greedily; the table gives prompt and decode tokens/s for each.
 *
 * <pre>scripts/bench llama --model DIR --gguf FILE [--threads 2] [--prompt-tokens 616] [--decode-tokens 16]
 *                     [--no-mmap] [--out FILE]</pre>
 * {@code --no-mmap} reads both engines' weights into memory instead of mapping them.
 */
public final class LlamaCppComparison {
    /** Ordinary prose, repeated as often as the prompt length needs. */
    private static final String PROSE = "The old lighthouse keeper walked along the rocky shore every morning, "
            + "counting the boats that came back from the sea and writing their names in a small blue book. ";

    /** The results, also written as JSON. */
    record Report(String date, String model, String gguf, int threads, int promptTokens, int decodeTokens,
                  boolean inMemory, GreedyRun dpn, GreedyRun llamaCpp, int agreeingTokens) {
    }

    private LlamaCppComparison() {
    }

    public static void main(String[] args) throws IOException {
        Path model = null, gguf = null, out = null;
        int threads = 2, promptTokens = 616, decodeTokens = 16;
        boolean inMemory = false;
        for (int i = 0; i < args.length; i += 2) {
            if (args[i].equals("--no-mmap")) {
                inMemory = true;
                i--;
                continue;
            }
            if (i + 1 >= args.length) {
                usage("missing a value after " + args[i]);
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--model" -> model = Path.of(value);
                case "--gguf" -> gguf = Path.of(value);
                case "--out" -> out = Path.of(value);
                case "--threads" -> threads = Integer.parseInt(value);
                case "--prompt-tokens" -> promptTokens = Integer.parseInt(value);
                case "--decode-tokens" -> decodeTokens = Integer.parseInt(value);
                default -> usage("unknown option " + args[i]);
            }
        }
        if (model == null || gguf == null || !Files.isRegularFile(gguf)) {
            usage("needs --model DIR and --gguf FILE (an existing file, from dpn gguf --model DIR --out FILE)");
        }
        Report report = compare(model, gguf, threads, promptTokens, decodeTokens, inMemory);
        print(report);
        if (out != null) {
            ReportFile.write(report, out);
            System.out.println("report: " + out);
        }
        // java-llama.cpp 4.2.0 leaves a native thread polling after close(): it would keep the JVM and a core busy.
        System.exit(0);
    }

    static Report compare(Path model, Path gguf, int threads, int promptTokens, int decodeTokens, boolean inMemory)
            throws IOException {
        GreedyRun dpnRun;
        String prompt;
        int context = promptTokens + decodeTokens + 8;
        // One engine at a time, each warmed up on a short prompt first, so neither competes for the cores.
        try (DpnGreedy dpn = new DpnGreedy(model, threads, inMemory)) {
            prompt = prompt(dpn.tokenizer(), promptTokens);
            progress("dpn: warm-up");
            dpn.run(PROSE.repeat(2), 4);
            progress("dpn: " + promptTokens + "-token prompt, " + decodeTokens + " tokens");
            dpnRun = dpn.run(prompt, decodeTokens);
        }
        GreedyRun llamaRun;
        try (LlamaCppGreedy llama = new LlamaCppGreedy(gguf, threads, context, inMemory)) {
            progress("llama.cpp: warm-up");
            llama.run(PROSE.repeat(2), 4);
            progress("llama.cpp: " + promptTokens + "-token prompt, " + decodeTokens + " tokens");
            llamaRun = llama.run(prompt, decodeTokens);
        }
        if (llamaRun.promptTokens() != dpnRun.promptTokens()) {
            throw new IllegalStateException("the engines tokenized the prompt differently: dpn " + dpnRun.promptTokens()
                    + " tokens, llama.cpp " + llamaRun.promptTokens());
        }
        return new Report(LocalDateTime.now().toString(), model.toString(), gguf.toString(), threads, promptTokens,
                decodeTokens, inMemory, dpnRun, llamaRun, dpnRun.agreeingTokens(llamaRun));
    }

    /** Prose cut to exactly {@code tokens} tokens with the beginning-of-sequence token, by dpn's tokenizer. */
    static String prompt(Tokenizer tokenizer, int tokens) {
        String text = PROSE.repeat(tokens / 20 + 1);
        int[] ids = tokenizer.encode(text, false);
        if (ids.length < tokens - 1) {
            throw new IllegalStateException("the prose is too short for " + tokens + " tokens");
        }
        String prompt = tokenizer.decode(Arrays.copyOf(ids, tokens - 1));
        int length = tokenizer.encode(prompt, true).length;
        if (length != tokens) {
            throw new IllegalStateException("the cut prompt re-encodes to " + length + " tokens, not " + tokens);
        }
        return prompt;
    }

    private static void print(Report r) {
        System.out.printf(Locale.ROOT, "%ndpn and llama.cpp (build 4916, java-llama.cpp 4.2.0), same decoder: %s and "
                + "%s, %d threads, weights %s%n", r.model(), r.gguf(), r.threads(), r.inMemory() ? "in memory" : "mapped");
        System.out.printf(Locale.ROOT, "%-42s %12s %12s %10s%n", "", "dpn", "llama.cpp", "dpn/llama");
        line("prompt processing, tokens/s", r.promptTokens() + " tokens", r.dpn().promptTokensPerSecond(),
                r.llamaCpp().promptTokensPerSecond());
        line("decode, tokens/s", r.decodeTokens() + " tokens", r.dpn().decodeTokensPerSecond(),
                r.llamaCpp().decodeTokensPerSecond());
        System.out.printf(Locale.ROOT, "greedy tokens that agree: %d of %d%n", r.agreeingTokens(), r.decodeTokens());
    }

    private static void line(String what, String size, double dpn, double llama) {
        System.out.printf(Locale.ROOT, "%-42s %12.2f %12.2f %10.2f%n", what + " (" + size + ")", dpn, llama,
                dpn / llama);
    }

    private static void progress(String step) {
        System.err.println("llama-bench: " + step);
    }

    private static void usage(String problem) {
        System.err.println("llama-bench: " + problem);
        System.err.println("usage: scripts/bench llama --model DIR --gguf FILE [--threads N] [--prompt-tokens N] "
                + "[--decode-tokens N] [--no-mmap] [--out FILE]");
        System.exit(2);
    }
}
