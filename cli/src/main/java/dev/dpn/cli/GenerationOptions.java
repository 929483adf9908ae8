package dev.dpn.cli;

import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.GenerateOptions;
import dev.dpn.runtime.PoolingSpec;
import dev.dpn.runtime.image.ResizeMode;
import dev.dpn.runtime.sampling.SamplingOptions;
import dev.dpn.runtime.text.ChatTemplate;
import dev.dpn.tensors.DType;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** How answers are generated: shared by the commands that generate. */
final class GenerationOptions {
    @Option(names = "--pooling", paramLabel = "SPEC", description = {
            "none | adaptive | random | static:E1,E2,E3 (per DPE layer an expert index or a kernel like 2x2; one "
                    + "value for all layers). Default: as the model's config says."})
    String pooling;

    @Option(names = "--max-tokens", paramLabel = "N", description = "The most tokens to generate (${DEFAULT-VALUE}).")
    int maxTokens = 256;

    @Option(names = "--temperature", paramLabel = "T", description = "0 decodes greedily (${DEFAULT-VALUE}).")
    float temperature = 0;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample from the K most likely tokens; 0: all "
            + "(${DEFAULT-VALUE}).")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "Sample from the most likely tokens that make up "
            + "probability P; 1: all (${DEFAULT-VALUE}).")
    float topP = 1;

    @Option(names = "--seed", paramLabel = "N", description = "Seeds sampling and random pooling (${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--template", paramLabel = "NAME", description = "llava_v1 | short. Default: the model's chat "
            + "template if its tokenizer_config.json has one, else llava_v1.")
    String template;

    @Option(names = "--image-mode", paramLabel = "MODE", description = "pad (LLaVA-1.5: pad to a square) | crop "
            + "(CLIP: centre crop). Default: ${DEFAULT-VALUE}.")
    String imageMode = "pad";

    @Option(names = "--kv-cache", paramLabel = "f16|f32", converter = KvCacheTypeConverter.class,
            description = "The key/value caches' type. Default: f16 on the CPU (as llama.cpp's), f32 on a GPU.")
    DType kvCache;

    GenerateOptions toOptions(DpnModel model) {
        GenerateOptions options = GenerateOptions.defaults()
                .withTemplate(template != null ? ChatTemplate.named(template) : model.defaultTemplate())
                .withMaxTokens(maxTokens)
                .withSampling(new SamplingOptions(temperature, topK, topP, seed))
                .withImageMode(ResizeMode.named(imageMode));
        if (kvCache != null) {
            options = options.withKvCacheType(kvCache);
        }
        return pooling == null ? options : options.withPooling(PoolingSpec.parse(pooling));
    }

    /** {@code f16} or {@code f32}, any case. */
    static final class KvCacheTypeConverter implements ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "f16" -> DType.F16;
                case "f32" -> DType.F32;
                default -> throw new TypeConversionException("unknown type '" + value + "'; f16 or f32");
            };
        }
    }
}
