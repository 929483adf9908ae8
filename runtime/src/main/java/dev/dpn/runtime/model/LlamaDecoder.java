package dev.dpn.runtime.model;

import dev.dpn.kernels.Backend;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.TextConfig;
import dev.dpn.tensors.Tensor;
import java.util.ArrayList;
import java.util.List;

/** The Llama language model: token embeddings, the decoder layers, the final RMSNorm and the LM head. */
record LlamaDecoder(Tensor embedTokens, List<LlamaLayer> layers, RmsNorm norm, Tensor lmHead) {
    static final String PREFIX = "language_model.model.";

    static LlamaDecoder load(CheckpointWeights weights, LlavaConfig llava) {
        TextConfig c = llava.textConfig();
        Tensor embedTokens = weights.table(PREFIX + "embed_tokens.weight", c.vocabSize(), c.hiddenSize());
        List<LlamaLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(LlamaLayer.load(weights, PREFIX + "layers." + i, c));
        }
        Tensor lmHead = llava.tieWordEmbeddings() ? embedTokens
                : weights.matrix("language_model.lm_head.weight", c.vocabSize(), c.hiddenSize());
        return new LlamaDecoder(embedTokens, List.copyOf(layers),
                RmsNorm.load(weights, PREFIX + "norm", c.hiddenSize(), c.rmsNormEps()), lmHead);
    }

    /** Embeds {@code ids} into the rows of {@code out}. */
    void embed(Backend backend, int[] ids, Tensor out) {
        backend.embed(embedTokens, ids, out);
    }

    /**
     * The next-token logits after {@code last} [1, D], the final hidden state of the sequence's last token.
     *
     * @param normed [1, D] scratch
     * @param logits [1, V]
     */
    void logits(Backend backend, Tensor last, Tensor normed, Tensor logits) {
        norm.apply(backend, last, normed);
        backend.matmul(normed, lmHead, null, logits);
    }
}
