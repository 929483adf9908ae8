package dev.dpn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.Generation;
import dev.dpn.runtime.RequestStats;
import dev.dpn.runtime.model.PoolingDecision;

/** The {@code --json} output: the answer and its statistics as one object. */
final class JsonReport {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonReport() {
    }

    static String of(Generation answer, DpnModel model) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("model", model.folder().toString());
        root.put("answer", answer.text());
        ArrayNode tokens = root.putArray("tokens");
        for (int t : answer.tokens()) {
            tokens.add(t);
        }
        RequestStats s = answer.stats();
        ObjectNode stats = root.putObject("stats");
        ArrayNode routing = stats.putArray("routing");
        for (PoolingDecision d : s.routing()) {
            ObjectNode r = routing.addObject();
            r.put("layer", d.layer());
            r.put("expert", d.expert());
            r.put("kernel", d.kernel() == null ? null : d.kernel().toString());
            ArrayNode p = r.putArray("probabilities");
            for (float v : d.probabilities()) {
                p.add(v);
            }
            r.put("grid_in", d.gridIn().toString());
            r.put("grid_out", d.gridOut().toString());
            r.put("skipped", d.skipReason());
        }
        ArrayNode stages = stats.putArray("stages");
        for (RequestStats.Stage stage : s.stages()) {
            ObjectNode o = stages.addObject();
            o.put("first_layer", stage.firstLayer());
            o.put("last_layer", stage.lastLayer());
            o.put("tokens", stage.sequenceTokens());
            o.put("visual_tokens", stage.grid().tokens());
            o.put("grid", stage.grid().toString());
        }
        stats.put("prompt_tokens", s.promptTokens());
        stats.put("generated_tokens", s.generatedTokens());
        stats.put("llm_prefill_flops", s.llmPrefillFlops());
        stats.put("llm_prefill_flops_unpooled", s.llmPrefillFlopsUnpooled());
        stats.put("flops_saving", s.flopsSaving());
        stats.put("vision_flops", s.visionFlops());
        stats.put("image_ms", s.imageNanos() / 1e6);
        stats.put("vision_ms", s.visionNanos() / 1e6);
        stats.put("vision_tower_ms", s.visionTowerNanos() / 1e6);
        stats.put("projector_ms", s.projectorNanos() / 1e6);
        stats.put("prefill_ms", s.prefillNanos() / 1e6);
        stats.put("ttft_ms", s.ttftNanos() / 1e6);
        stats.put("prefill_tokens_per_s", s.prefillTokensPerSecond());
        stats.put("decode_tokens_per_s", s.decodeTokensPerSecond());
        return root.toString();
    }
}
