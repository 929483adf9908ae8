package dev.dpn.loader.config;

import java.util.List;

/**
 * One Dynamic Pooling Experts layer: the decoder layer it acts on (after it, or before it for location
 * {@code pre}) and its experts' kernels, mildest first (a static layer has exactly one).
 */
public record DpeLayer(int index, List<Kernel> experts) {

    public DpeLayer {
        if (index < 0) {
            throw new IllegalArgumentException("a DPE layer index must not be negative, got " + index);
        }
        experts = List.copyOf(experts);
        if (experts.isEmpty()) {
            throw new IllegalArgumentException("DPE layer " + index + " has no experts");
        }
    }

    /** The largest window area among the experts: a span with fewer tokens is left alone. */
    public int largestKernelArea() {
        return experts.stream().mapToInt(Kernel::area).max().orElseThrow();
    }
}
