package dev.dpn.runtime.model;

import dev.dpn.loader.config.Kernel;

/** The (height, width) layout of the visual tokens in the sequence, row-major; {@link #NONE} without an image. */
public record Grid(int height, int width) {
    public static final Grid NONE = new Grid(0, 0);

    public Grid {
        if (height < 0 || width < 0) {
            throw new IllegalArgumentException("negative grid " + height + "x" + width);
        }
    }

    public int tokens() {
        return height * width;
    }

    boolean fits(Kernel kernel) {
        return kernel.height() <= height && kernel.width() <= width;
    }

    /** The grid after pooling with {@code kernel} (stride = kernel, floor division). */
    Grid pooled(Kernel kernel) {
        return new Grid(height / kernel.height(), width / kernel.width());
    }

    @Override
    public String toString() {
        return height + "x" + width;
    }
}
