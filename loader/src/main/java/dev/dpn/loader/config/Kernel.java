package dev.dpn.loader.config;

/** A pooling window of {@code height × width} tokens; DPN experts use it as the stride too. */
public record Kernel(int height, int width) {

    public Kernel {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("a pooling kernel must be positive, got " + height + "x" + width);
        }
    }

    /** How many tokens one window merges into one. */
    public int area() {
        return height * width;
    }

    @Override
    public String toString() {
        return height + "x" + width;
    }
}
