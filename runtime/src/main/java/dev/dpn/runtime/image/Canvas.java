package dev.dpn.runtime.image;

/**
 * An image placed on a larger background of one colour, read row by row. It lets the resampler read LLaVA's padded
 * square without building it: for a 16384×1000 panorama that square would take 800 MB.
 */
final class Canvas {
    private final RgbImage image;
    private final int width;
    private final int height;
    private final int left;
    private final int top;
    private final byte[] background;

    private Canvas(RgbImage image, int width, int height, int left, int top, byte[] background) {
        this.image = image;
        this.width = width;
        this.height = height;
        this.left = left;
        this.top = top;
        this.background = background;
    }

    /** The image alone. */
    static Canvas of(RgbImage image) {
        return new Canvas(image, image.width(), image.height(), 0, 0, new byte[3]);
    }

    /**
     * The image centred on a square of {@code colour} whose side is its longer side, as LLaVA's
     * {@code expand2square} pastes it: at ((side − width) // 2, (side − height) // 2).
     */
    static Canvas centredSquare(RgbImage image, int[] colour) {
        int side = Math.max(image.width(), image.height());
        byte[] background = {(byte) colour[0], (byte) colour[1], (byte) colour[2]};
        return new Canvas(image, side, side, (side - image.width()) / 2, (side - image.height()) / 2, background);
    }

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    /** Copies row {@code y} (RGB bytes, {@code 3 × width} of them) into {@code row}. */
    void copyRow(int y, byte[] row) {
        int imageY = y - top;
        if (imageY < 0 || imageY >= image.height()) {
            fill(row, 0, width);
            return;
        }
        fill(row, 0, left);
        System.arraycopy(image.pixels(), imageY * image.width() * 3, row, left * 3, image.width() * 3);
        fill(row, left + image.width(), width);
    }

    private void fill(byte[] row, int from, int to) {
        for (int i = from * 3; i < to * 3; i += 3) {
            row[i] = background[0];
            row[i + 1] = background[1];
            row[i + 2] = background[2];
        }
    }
}
