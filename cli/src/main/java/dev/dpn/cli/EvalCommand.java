package dev.dpn.cli;

import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.PoolingSpec;
import dev.dpn.runtime.eval.EvalExample;
import dev.dpn.runtime.eval.EvalResult;
import dev.dpn.runtime.eval.Evaluation;
import dev.dpn.runtime.eval.Tally;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.apache.commons.math3.stat.interval.ConfidenceInterval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code dpn eval}: accuracy and LLM prefill FLOPs on a held-out split, one row per pooling setup. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Answers a held-out split (a folder with split.jsonl and its images) greedily and prints "
                + "exact-match accuracy per question type, LLM prefill FLOPs and the routers' choices, for each "
                + "pooling setup."})
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--split", paramLabel = "DIR", required = true, description = "The split: split.jsonl + images.")
    Path split;

    @Option(names = "--pooling", paramLabel = "SPEC", split = ";", description = {
            "Setups to compare, repeatable: none | adaptive | random | static:E1,E2,E3. Default: the model's own."})
    List<String> pooling = new ArrayList<>();

    @Option(names = "--max-tokens", paramLabel = "N", description = "Longest answer (${DEFAULT-VALUE}).")
    int maxTokens = 24;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N examples (all by default).")
    int limit = Integer.MAX_VALUE;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<EvalExample> examples = EvalExample.readSplit(split);
        examples = examples.subList(0, Math.min(examples.size(), Math.max(1, limit)));
        PrintWriter out = spec.commandLine().getOut();
        try (DpnModel dpn = model.load()) {
            GenerateOptions base = GenerateOptions.defaults().withTemplate(dpn.defaultTemplate());
            List<String> setups = pooling.isEmpty() ? List.of("model") : pooling;
            List<EvalResult> results = new ArrayList<>();
            for (String setup : setups) {
                GenerateOptions options = setup.equals("model") ? base : base.withPooling(PoolingSpec.parse(setup));
                try (ProgressBar bar = Progress.bar(setup).setInitialMax(examples.size())
                        .continuousUpdate().build()) {
                    results.add(Evaluation.run(dpn, examples, options, maxTokens, bar::stepTo));
                }
            }
            print(out, setups, results);
        }
        return 0;
    }

    private static void print(PrintWriter out, List<String> setups, List<EvalResult> results) {
        List<String> types = new ArrayList<>(results.getFirst().byType().keySet());
        StringBuilder header = new StringBuilder(String.format("%-22s", "pooling"));
        types.forEach(t -> header.append(String.format(" %8.8s", t)));
        out.println(header.append(String.format("  %-18s %12s %7s", "overall (95% CI)", "LLM GFLOP", "saved")));
        for (int i = 0; i < setups.size(); i++) {
            EvalResult r = results.get(i);
            StringBuilder row = new StringBuilder(String.format("%-22s", setups.get(i)));
            for (String t : types) {
                row.append(String.format(Locale.ROOT, " %8.1f", 100 * r.byType().get(t).accuracy()));
            }
            Tally all = r.overall();
            ConfidenceInterval ci = all.interval95();
            row.append(String.format(Locale.ROOT, "  %5.1f [%4.1f-%4.1f]  %12.3f %6.1f%%", 100 * all.accuracy(),
                    100 * ci.getLowerBound(), 100 * ci.getUpperBound(), r.meanLlmFlops() / 1e9,
                    100 * r.flopsSaving()));
            out.println(row);
        }
        out.println();
        out.println("accuracy in % (exact match per question type); LLM prefill GFLOP per request and the share "
                + "pooling saved (DPN.md §5)");
        for (int i = 0; i < setups.size(); i++) {
            if (!results.get(i).routing().isEmpty()) {
                out.println();
                out.println("routing of '" + setups.get(i) + "': kernel chosen per DPE layer, by question type");
                for (var byType : results.get(i).routing().entrySet()) {
                    StringBuilder line = new StringBuilder(String.format("  %-18s", byType.getKey()));
                    for (Map.Entry<Integer, Map<String, Integer>> layer : byType.getValue().entrySet()) {
                        line.append("  layer ").append(layer.getKey()).append(": ").append(layer.getValue());
                    }
                    out.println(line);
                }
            }
        }
    }
}
