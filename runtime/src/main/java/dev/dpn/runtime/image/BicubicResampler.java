package dev.dpn.runtime.image;

import java.util.Arrays;

/**
 * Pillow's antialiased bicubic resize of 8-bit RGB ({@code Image.resize(size, Image.BICUBIC)}), byte for byte.
 *
 * <p>It follows Pillow's {@code Resample.c}: separable, a horizontal pass into an 8-bit image, then a vertical pass.
 * Along each axis, output sample i, centred at (i + ½)·scale in input coordinates, is a weighted sum of input
 * samples under the bicubic kernel (a = −½, support 2) stretched by the downscale factor, so that downscaling
 * averages over the whole footprint instead of aliasing. The weights are normalised in double precision, rounded
 * to fixed point with 22 fraction bits, and each pass rounds and clips its sums to 0..255. Doing exactly this
 * integer arithmetic, not something close in floating point, is what makes the bytes equal to Pillow's.
 *
 * <p>Pillow skips the pass of an axis whose size does not change; here that pass runs with the weights
 * (0, 1, 0, 0), which copy the samples, so the result is the same.
 */
final class BicubicResampler {
    /** Half-width of the bicubic kernel, in input samples, before stretching. */
    private static final double SUPPORT = 2.0;
    /** Fraction bits of the fixed-point weights: 8 bits of result and 2 for the overshoot of the negative lobes. */
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private BicubicResampler() {}

    /** All of {@code image} resized to {@code width × height}. */
    static RgbImage resize(RgbImage image, int width, int height) {
        return resize(Canvas.of(image), width, height, 0, 0, width, height);
    }

    /**
     * The window {@code [left, left + windowWidth) × [top, top + windowHeight)} of {@code canvas} resized to
     * {@code width × height}: the bytes that resizing all of it and then cropping would give, without computing
     * the rest (for an extreme aspect ratio, "all of it" can be gigabytes).
     */
    static RgbImage resize(Canvas canvas, int width, int height, int left, int top, int windowWidth, int windowHeight) {
        if (windowWidth <= 0 || windowHeight <= 0 || left < 0 || top < 0
                || left + windowWidth > width || top + windowHeight > height) {
            throw new IllegalArgumentException("window " + windowWidth + "×" + windowHeight + " at (" + left + ", "
                    + top + ") is not inside a " + width + "×" + height + " image");
        }
        Weights columns = Weights.of(canvas.width(), width, left, windowWidth);
        Weights rows = Weights.of(canvas.height(), height, top, windowHeight);
        int firstRow = rows.first[0];
        int rowCount = rows.first[windowHeight - 1] + rows.count[windowHeight - 1] - firstRow;
        byte[] horizontal = horizontalPass(canvas, columns, firstRow, rowCount);
        return new RgbImage(windowWidth, windowHeight, verticalPass(horizontal, windowWidth, rows, firstRow));
    }

    /** Rows {@code [firstRow, firstRow + rowCount)} of the canvas, resampled along x. */
    private static byte[] horizontalPass(Canvas canvas, Weights columns, int firstRow, int rowCount) {
        int width = columns.first.length;
        byte[] row = new byte[canvas.width() * 3];
        byte[] out = new byte[rowCount * width * 3];
        for (int y = 0; y < rowCount; y++) {
            canvas.copyRow(firstRow + y, row);
            for (int x = 0; x < width; x++) {
                int red = HALF;
                int green = HALF;
                int blue = HALF;
                int source = columns.first[x] * 3;
                int weights = x * columns.stride;
                for (int k = 0; k < columns.count[x]; k++, source += 3) {
                    int w = columns.fixed[weights + k];
                    red += (row[source] & 0xFF) * w;
                    green += (row[source + 1] & 0xFF) * w;
                    blue += (row[source + 2] & 0xFF) * w;
                }
                int target = (y * width + x) * 3;
                out[target] = clip(red);
                out[target + 1] = clip(green);
                out[target + 2] = clip(blue);
            }
        }
        return out;
    }

    /** The horizontally resampled rows (the first of them is input row {@code firstRow}), resampled along y. */
    private static byte[] verticalPass(byte[] in, int width, Weights rows, int firstRow) {
        int rowBytes = width * 3;
        byte[] out = new byte[rows.first.length * rowBytes];
        int[] sums = new int[rowBytes];
        for (int y = 0; y < rows.first.length; y++) {
            Arrays.fill(sums, HALF);
            for (int k = 0; k < rows.count[y]; k++) {
                int w = rows.fixed[y * rows.stride + k];
                int source = (rows.first[y] - firstRow + k) * rowBytes;
                for (int i = 0; i < rowBytes; i++) {
                    sums[i] += (in[source + i] & 0xFF) * w;
                }
            }
            for (int i = 0; i < rowBytes; i++) {
                out[y * rowBytes + i] = clip(sums[i]);
            }
        }
        return out;
    }

    private static byte clip(int fixedPoint) {
        return (byte) Math.clamp(fixedPoint >> PRECISION_BITS, 0, 255);
    }

    /** Pillow's {@code bicubic_filter}. */
    private static double bicubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /**
     * For each output sample of a window along one axis: the first input sample it reads, how many it reads, and
     * their fixed-point weights ({@code stride} slots per output sample).
     */
    private record Weights(int[] first, int[] count, int[] fixed, int stride) {

        /** Pillow's {@code precompute_coeffs} and {@code normalize_coeffs_8bpc}, for outputs [from, from + length). */
        static Weights of(int inSize, int outSize, int from, int length) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale;
            int stride = (int) Math.ceil(support) * 2 + 1;
            int[] first = new int[length];
            int[] count = new int[length];
            int[] fixed = new int[length * stride];
            double[] weights = new double[stride];
            for (int i = 0; i < length; i++) {
                double centre = (from + i + 0.5) * scale;
                int min = Math.max((int) (centre - support + 0.5), 0);
                int max = Math.min((int) (centre + support + 0.5), inSize);
                double sum = 0.0;
                for (int x = min; x < max; x++) {
                    // Pillow's form, times the reciprocal: the same bits by construction, not by luck.
                    double w = bicubic((x - centre + 0.5) * (1.0 / filterScale));
                    weights[x - min] = w;
                    sum += w;
                }
                for (int k = 0; k < max - min; k++) {
                    double normalised = sum == 0.0 ? weights[k] : weights[k] / sum;
                    double scaled = normalised * (1 << PRECISION_BITS);
                    fixed[i * stride + k] = (int) (normalised < 0 ? scaled - 0.5 : scaled + 0.5);
                }
                first[i] = min;
                count[i] = max - min;
            }
            return new Weights(first, count, fixed, stride);
        }
    }
}
