package dev.dpn.runtime;

import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.sampling.SamplingOptions;
import dev.dpn.runtime.text.ChatTemplate;
import java.util.Optional;

/**
 * How one answer is generated. {@link #defaults()} is greedy decoding of up to 256 tokens with the model's own
 * pooling, the llava_v1 template and LLaVA-1.5's pad-to-square preprocessing; the {@code with...} methods change one
 * field each.
 *
 * @param pooling   overrides the model's pooling; empty: as its config says
 * @param maxTokens the most tokens to generate; generation also stops at {@code </s>}
 */
public record GenerateOptions(ChatTemplate template, Optional<PoolingSpec> pooling, int maxTokens,
        SamplingOptions sampling, ResizeMode imageMode) {

    public GenerateOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
    }

    public static GenerateOptions defaults() {
        return new GenerateOptions(ChatTemplate.LLAVA_V1, Optional.empty(), 256, SamplingOptions.GREEDY,
                ResizeMode.PAD);
    }

    public GenerateOptions withTemplate(ChatTemplate t) {
        return new GenerateOptions(t, pooling, maxTokens, sampling, imageMode);
    }

    public GenerateOptions withPooling(PoolingSpec p) {
        return new GenerateOptions(template, Optional.of(p), maxTokens, sampling, imageMode);
    }

    public GenerateOptions withMaxTokens(int n) {
        return new GenerateOptions(template, pooling, n, sampling, imageMode);
    }

    public GenerateOptions withSampling(SamplingOptions s) {
        return new GenerateOptions(template, pooling, maxTokens, s, imageMode);
    }

    public GenerateOptions withImageMode(ResizeMode m) {
        return new GenerateOptions(template, pooling, maxTokens, sampling, m);
    }
}
