package dev.dpn.bench;

/** The shape of a weight matrix w [N, K] in {@code y = x·wᵀ}; written "NxK" in benchmark parameters. */
record Shape(int n, int k) {

    /** Parses "11008x4096". */
    static Shape parse(String text) {
        String[] parts = text.split("x");
        if (parts.length != 2) {
            throw new IllegalArgumentException("weight shape must be NxK, like 4096x11008, got \"" + text + "\"");
        }
        return new Shape(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
    }

    @Override
    public String toString() {
        return n + "x" + k;
    }
}
