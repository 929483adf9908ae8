package dev.dpn.bench.llamacpp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dpn.loader.tokenizer.TokenizerFiles;
import dev.dpn.measure.Rate;
import dev.dpn.measure.ReportFile;
import dev.dpn.runtime.text.Tokenizer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * dpn and llama.cpp side by side on the identical decoder: a llava-hf folder and the GGUF that {@code dpn gguf}
 * wrote from it. Both process the same text prompt (616 tokens by default, the length of LLaVA-1.5's image prompt)
 * and decode greedily; the table gives prompt and decode tokens/s for each, median and range over the runs.
 *
 * <pre>scripts/bench llama --model DIR --gguf FILE [--threads 2] [--prompt-tokens 616] [--decode-tokens 16]
 *                     [--runs 3] [--no-mmap] [--out FILE]</pre>
 * {@code --no-mmap} reads both engines' weights into memory instead of mapping them.
 *
 * <p>Each run of an engine is a fresh JVM that opens the model, warms up on a short prompt and measures once; the
 * engines take turns, the first one alternating from run to run. On a VM whose memory bandwidth drifts by ±5%
 * over minutes, one run of each, one after the other, could put either engine ahead; turns spread the drift over
 * both. Separate JVMs also keep java-llama.cpp's native thread, which polls on after its model is closed, away
 * from dpn's runs.
 */
public final class LlamaCppComparison {
    /** Ordinary prose, repeated as often as the prompt length needs. */
    private static final String PROSE = "The old lighthouse keeper walked along the rocky shore every morning, "
            + "counting the boats that came back from the sea and writing their names in a small blue book. ";

    /** The command line; {@code engine} is set only in the JVM that measures one engine once. */
    record Options(Path model, Path gguf, Path out, int threads, int promptTokens, int decodeTokens, int runs,
                   boolean inMemory, String engine) {
    }

    /** One run of each engine, and how many of their greedy tokens agree. */
    record Turn(GreedyRun dpn, GreedyRun llamaCpp, int agreeingTokens) {
    }

    /** An engine's tokens/s over the runs: median, slowest and fastest. */
    record Speeds(Rate prompt, Rate decode) {

        static Speeds of(List<GreedyRun> runs) {
            DescriptiveStatistics prompt = new DescriptiveStatistics();
            DescriptiveStatistics decode = new DescriptiveStatistics();
            runs.forEach(run -> {
                prompt.addValue(run.promptSeconds());
                decode.addValue(run.decodeSeconds());
            });
            GreedyRun first = runs.getFirst();
            return new Speeds(Rate.of(first.promptTokens(), prompt), Rate.of(first.pieces().size() - 1, decode));
        }
    }

    /** The results, also written as JSON. */
    record Report(String date, String model, String gguf, int threads, int promptTokens, int decodeTokens,
                  boolean inMemory, List<Turn> turns, Speeds dpn, Speeds llamaCpp) {
    }

    private LlamaCppComparison() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Options options = parse(args);
        if (options.engine() != null) {
            ReportFile.write(measure(options), options.out());
            // java-llama.cpp 4.2.0 leaves a native thread polling after close(): it would keep the JVM and a core busy.
            System.exit(0);
        }
        Report report = compare(options);
        print(report);
        if (options.out() != null) {
            ReportFile.write(report, options.out());
            System.out.println("report: " + options.out());
        }
    }

    private static Options parse(String[] args) {
        Path model = null, gguf = null, out = null;
        int threads = 2, promptTokens = 616, decodeTokens = 16, runs = 3;
        boolean inMemory = false;
        String engine = null;
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
                case "--threads" -> threads = number(args[i], value);
                case "--prompt-tokens" -> promptTokens = number(args[i], value);
                case "--decode-tokens" -> decodeTokens = number(args[i], value);
                case "--runs" -> runs = number(args[i], value);
                case "--engine" -> engine = value;
                default -> usage("unknown option " + args[i]);
            }
        }
        if (model == null || gguf == null || !Files.isRegularFile(gguf)) {
            usage("needs --model DIR and --gguf FILE (an existing file, from dpn gguf --model DIR --out FILE)");
        }
        if (runs < 1 || threads < 1 || decodeTokens < 2 || promptTokens < 2) {
            usage("needs --runs and --threads of at least 1, --prompt-tokens and --decode-tokens of at least 2");
        }
        if (engine != null && !engine.equals("dpn") && !engine.equals("llama.cpp")) {
            usage("--engine is dpn or llama.cpp, not " + engine);
        }
        return new Options(model, gguf, out, threads, promptTokens, decodeTokens, runs, inMemory, engine);
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            usage(option + " needs a whole number, not '" + value + "'");
            throw new AssertionError("usage exits");
        }
    }

    /** The runs, each engine's in a JVM of its own, taking turns. */
    static Report compare(Options options) throws IOException, InterruptedException {
        Path folder = Files.createTempDirectory("dpn-llama-bench");
        try {
            List<Turn> turns = new ArrayList<>();
            for (int run = 0; run < options.runs(); run++) {
                boolean dpnFirst = run % 2 == 0;
                GreedyRun first = runInOwnJvm(options, dpnFirst ? "dpn" : "llama.cpp", run, folder);
                GreedyRun second = runInOwnJvm(options, dpnFirst ? "llama.cpp" : "dpn", run, folder);
                GreedyRun dpn = dpnFirst ? first : second;
                GreedyRun llama = dpnFirst ? second : first;
                if (llama.promptTokens() != dpn.promptTokens()) {
                    throw new IllegalStateException("the engines tokenized the prompt differently: dpn "
                            + dpn.promptTokens() + " tokens, llama.cpp " + llama.promptTokens());
                }
                turns.add(new Turn(dpn, llama, dpn.agreeingTokens(llama)));
            }
            return new Report(LocalDateTime.now().toString(), options.model().toString(), options.gguf().toString(),
                    options.threads(), options.promptTokens(), options.decodeTokens(), options.inMemory(), turns,
                    Speeds.of(turns.stream().map(Turn::dpn).toList()),
                    Speeds.of(turns.stream().map(Turn::llamaCpp).toList()));
        } finally {
            try (var files = Files.list(folder)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(folder);
        }
    }

    /** This program again, in a new JVM with this one's options, measuring {@code engine} once. */
    private static GreedyRun runInOwnJvm(Options options, String engine, int run, Path folder)
            throws IOException, InterruptedException {
        progress(engine + ", run " + (run + 1) + " of " + options.runs());
        Path out = folder.resolve(engine + "-" + run + ".json");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LlamaCppComparison.class.getName(),
                "--model", options.model().toString(), "--gguf", options.gguf().toString(),
                "--threads", String.valueOf(options.threads()),
                "--prompt-tokens", String.valueOf(options.promptTokens()),
                "--decode-tokens", String.valueOf(options.decodeTokens()),
                "--engine", engine, "--out", out.toString()));
        if (options.inMemory()) {
            command.add("--no-mmap");
        }
        int status = new ProcessBuilder(command).inheritIO().start().waitFor();
        if (status != 0 || !Files.isRegularFile(out)) {
            throw new IllegalStateException("the " + engine + " run " + (run + 1) + " failed (exit status " + status
                    + "): see its output above");
        }
        return new ObjectMapper().readValue(out.toFile(), GreedyRun.class);
    }

    /** One engine, warmed up on a short prompt, then the measured prompt. */
    private static GreedyRun measure(Options options) throws IOException {
        Tokenizer tokenizer = Tokenizer.of(TokenizerFiles.read(options.model()));
        String prompt = prompt(tokenizer, options.promptTokens());
        int context = options.promptTokens() + options.decodeTokens() + 8;
        return switch (options.engine()) {
            case "dpn" -> {
                try (DpnGreedy dpn = new DpnGreedy(options.model(), options.threads(), options.inMemory())) {
                    dpn.run(PROSE.repeat(2), 4);
                    yield dpn.run(prompt, options.decodeTokens());
                }
            }
            case "llama.cpp" -> {
                try (LlamaCppGreedy llama = new LlamaCppGreedy(options.gguf(), options.threads(), context,
                        options.inMemory())) {
                    llama.run(PROSE.repeat(2), 4);
                    yield llama.run(prompt, options.decodeTokens());
                }
            }
            default -> throw new IllegalStateException("unchecked engine " + options.engine());
        };
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
                + "%s, %d threads, weights %s; %d runs of each engine, taking turns, each in a new JVM%n", r.model(),
                r.gguf(), r.threads(), r.inMemory() ? "in memory" : "mapped", r.turns().size());
        System.out.printf(Locale.ROOT, "%-42s %24s %24s %10s%n", "median [slowest-fastest]", "dpn", "llama.cpp",
                "dpn/llama");
        line("prompt processing, tokens/s", r.promptTokens() + " tokens", r.dpn().prompt(), r.llamaCpp().prompt());
        line("decode, tokens/s", r.decodeTokens() + " tokens", r.dpn().decode(), r.llamaCpp().decode());
        System.out.printf(Locale.ROOT, "decode dpn/llama by run: %s%n", String.join(", ", r.turns().stream()
                .map(t -> String.format(Locale.ROOT, "%.2f",
                        t.dpn().decodeTokensPerSecond() / t.llamaCpp().decodeTokensPerSecond())).toList()));
        System.out.printf(Locale.ROOT, "greedy tokens that agree, of %d, by run: %s%n", r.decodeTokens(),
                String.join(", ", r.turns().stream().map(t -> String.valueOf(t.agreeingTokens())).toList()));
    }

    private static void line(String what, String size, Rate dpn, Rate llama) {
        System.out.printf(Locale.ROOT, "%-42s %24s %24s %10.2f%n", what + " (" + size + ")", rate(dpn), rate(llama),
                dpn.median() / llama.median());
    }

    private static String rate(Rate rate) {
        return String.format(Locale.ROOT, "%.2f [%.2f-%.2f]", rate.median(), rate.min(), rate.max());
    }

    private static void progress(String step) {
        System.err.println("llama-bench: " + step);
    }

    private static void usage(String problem) {
        System.err.println("llama-bench: " + problem);
        System.err.println("usage: scripts/bench llama --model DIR --gguf FILE [--threads N] [--prompt-tokens N] "
                + "[--decode-tokens N] [--runs N] [--no-mmap] [--out FILE]");
        System.exit(2);
    }
}
