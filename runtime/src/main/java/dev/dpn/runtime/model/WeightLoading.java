package dev.dpn.runtime.model;

import dev.dpn.runtime.quantize.CheckpointQuantizer;
import dev.dpn.tensors.DType;

/**
 * How a model's linear layers are loaded. By default they are read in place from the mapped checkpoint, which opens
 * a model of any size in well under a second.
 *
 * @param quantizeTo Q8_0 or Q4_0 to quantize the float linear layers into on load, exactly as {@code dpn quantize}
 *                   stores them; null reads them as stored
 * @param inMemory   copies the linear layers out of the mapping into the process's memory (llama.cpp's
 *                   {@code --no-mmap}): the 7B F16 model then loaded in 18-30 s instead of 0.4 and mostly decoded
 *                   faster on the development machine (316-347 against 384-429 ms per token; not in every run,
 *                   see the README); Q8_0 and Q4_0 decoded as fast either way
 */
public record WeightLoading(DType quantizeTo, boolean inMemory) {
    /** As stored, read in place from the mapping. */
    public static final WeightLoading MAPPED = new WeightLoading(null, false);

    public WeightLoading {
        if (quantizeTo != null) {
            CheckpointQuantizer.requireTarget(quantizeTo);
        }
    }
}
