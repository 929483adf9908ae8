package dev.dpn.runtime;

import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.model.SessionOptions;
import dev.dpn.runtime.sampling.SamplingOptions;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.tensors.DType;
import java.util.Optional;

/**
 * How one answer is generated. {@link #defaults()} is greedy decoding of up to 256 tokens with the model's own
 * pooling, the llava_v1 template and LLaVA-1.5's pad-to-square preprocessing; the {@code with...} methods change one
 * field each.
 *
 * @param pooling     overrides the model's pooling; empty: as its config says
 * @param maxTokens   the most tokens to generate; generation also stops at {@code </s>}
 * @param kvCacheType F32 or F16 key/value caches; empty: the device's choice (F16 on the CPU, as llama.cpp's default)
 */
public record GenerateOptions(ChatTemplate template, Optional<PoolingSpec> pooling, int maxTokens,
        SamplingOptions sampling, ResizeMode imageMode, Optional<DType> kvCacheType) {

    public GenerateOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        kvCacheType.ifPresent(SessionOptions::requireKvCacheType);
    }

    public static GenerateOptions defaults() {
        return new GenerateOptions(ChatTemplate.LLAVA_V1, Optional.empty(), 256, SamplingOptions.GREEDY,
                ResizeMode.PAD, Optional.empty());
    }

    public GenerateOptions withTemplate(ChatTemplate t) {
        return new GenerateOptions(t, pooling, maxTokens, sampling, imageMode, kvCacheType);
    }

    public GenerateOptions withPooling(PoolingSpec p) {
        return new GenerateOptions(template, Optional.of(p), maxTokens, sampling, imageMode, kvCacheType);
    }

    public GenerateOptions withMaxTokens(int n) {
        return new GenerateOptions(template, pooling, n, sampling, imageMode, kvCacheType);
    }

    public GenerateOptions withSampling(SamplingOptions s) {
        return new GenerateOptions(template, pooling, maxTokens, s, imageMode, kvCacheType);
    }

    public GenerateOptions withImageMode(ResizeMode m) {
        return new GenerateOptions(template, pooling, maxTokens, sampling, m, kvCacheType);
    }

    public GenerateOptions withKvCacheType(DType type) {
        return new GenerateOptions(template, pooling, maxTokens, sampling, imageMode, Optional.of(type));
    }
}
