package dev.dpn.runtime.eval;

import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.Generation;
import dev.dpn.runtime.RequestStats;
import dev.dpn.runtime.model.PoolingDecision;
import dev.dpn.runtime.sampling.SamplingOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntConsumer;

/**
 * Accuracy and cost of one model and pooling setup on an evaluation split: greedy answers, exact match after
 * trimming whitespace (as the reference's evaluate.py scores), per question type and overall, with the mean LLM
 * prefill FLOPs and the routers' choices per question type.
 */
public final class Evaluation {
    private Evaluation() {
    }

    /**
     * Answers every example. Request {@code i} seeds random pooling with {@code i}, so runs are reproducible and the
     * reference's draws can be matched.
     *
     * @param progress told the number of examples done after each
     */
    public static EvalResult run(DpnModel model, List<EvalExample> examples, GenerateOptions options, int maxTokens,
            IntConsumer progress) {
        Map<String, Tally> byType = new LinkedHashMap<>();
        Map<String, Map<Integer, Map<String, Integer>>> routing = new TreeMap<>();
        double flops = 0, unpooled = 0;
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            EvalExample example = examples.get(i);
            GenerateOptions request = options.withMaxTokens(maxTokens)
                    .withSampling(new SamplingOptions(0, 0, 1, i));
            Generation g = model.generate(example.image(), example.question(), request);
            String answer = g.text().strip();
            answers.add(answer);
            byType.computeIfAbsent(example.qtype(), t -> new Tally()).add(answer.equals(example.answer()));
            RequestStats s = g.stats();
            flops += s.llmPrefillFlops();
            unpooled += s.llmPrefillFlopsUnpooled();
            for (PoolingDecision d : s.routing()) {
                String choice = d.pooled() ? d.kernel().toString() : "skipped";
                routing.computeIfAbsent(example.qtype(), t -> new TreeMap<>())
                        .computeIfAbsent(d.layer(), l -> new TreeMap<>()).merge(choice, 1, Integer::sum);
            }
            progress.accept(i + 1);
        }
        Tally overall = new Tally();
        byType.values().forEach(overall::addAll);
        return new EvalResult(byType, overall, flops / examples.size(), unpooled / examples.size(), routing,
                answers);
    }
}
