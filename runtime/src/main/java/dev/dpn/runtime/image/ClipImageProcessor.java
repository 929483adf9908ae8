package dev.dpn.runtime.image;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * CLIP's image preprocessing as LLaVA-1.5 does it (HF {@code CLIPImageProcessor} plus LLaVA's pad-to-square),
 * matching the reference {@code dpn_ref/preprocess.py}: make the image square ({@link ResizeMode}), resize the
 * shortest side to {@code size} with PIL's bicubic filter, cut out the centre {@code size × size}, scale to [0, 1],
 * normalise with CLIP's mean and standard deviation, and lay the result out channel-first.
 *
 * <p>The result is exactly the reference's: the resize is PIL's integer arithmetic ({@link BicubicResampler}) and
 * the normalisation repeats numpy's float32 operations.
 */
public final class ClipImageProcessor {
    /** LLaVA's pad colour: {@code int(mean × 255)} per channel. */
    static final int[] PAD_COLOUR = {122, 116, 104};

    /**
     * {@code NORMALISED[c][v]}: sample value v of channel c normalised. numpy computes {@code v · (1/255)} in double,
     * rounds it to float32, then subtracts the float32 mean and divides by the float32 standard deviation, each in
     * float32; the same steps here give the same bits.
     */
    private static final float[][] NORMALISED = normalisationTable(
            new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711});

    private final int size;
    private final ResizeMode mode;

    /** Preprocessing to {@code size × size} pixels (336 for LLaVA-1.5, 224 for CLIP ViT-*-224 towers). */
    public ClipImageProcessor(int size, ResizeMode mode) {
        if (size <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + size);
        }
        this.size = size;
        this.mode = mode;
    }

    public int size() {
        return size;
    }

    public ResizeMode mode() {
        return mode;
    }

    /**
     * The image file as an F32 tensor [3, size, size] allocated from {@code arena}.
     *
     * @throws ImageFileException if the file cannot be decoded (see {@link ImageDecoder#decode})
     */
    public Tensor preprocess(Path file, TensorArena arena) {
        return preprocess(ImageDecoder.decode(file), arena);
    }

    /** The image as an F32 tensor [3, size, size] allocated from {@code arena}. */
    public Tensor preprocess(RgbImage image, TensorArena arena) {
        RgbImage square = resizeAndCrop(image);
        Tensor pixels = arena.allocate(DType.F32, 3, size, size);
        MemorySegment out = pixels.data();
        byte[] rgb = square.pixels();
        int plane = size * size;
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                out.setAtIndex(DType.FLOAT, (long) c * plane + i, NORMALISED[c][rgb[i * 3 + c] & 0xFF]);
            }
        }
        return pixels;
    }

    /** The {@code size × size} 8-bit image that {@link #preprocess} normalises. */
    RgbImage resizeAndCrop(RgbImage image) {
        Canvas canvas = mode == ResizeMode.PAD ? Canvas.centredSquare(image, PAD_COLOUR) : Canvas.of(image);
        int width = canvas.width();
        int height = canvas.height();
        // The shortest side becomes `size`; the other scales with it, truncated as transformers does. The quotient
        // of two exact doubles is correctly rounded, as Python's int / int is.
        int scaledWidth = width <= height ? size : (int) ((double) ((long) size * width) / height);
        int scaledHeight = width <= height ? (int) ((double) ((long) size * height) / width) : size;
        return BicubicResampler.resize(canvas, scaledWidth, scaledHeight,
                (scaledWidth - size) / 2, (scaledHeight - size) / 2, size, size);
    }

    private static float[][] normalisationTable(double[] mean, double[] std) {
        float[][] table = new float[3][256];
        for (int c = 0; c < 3; c++) {
            // (float) of the double literal: numpy rounds the same decimal to double, then to float32.
            float m = (float) mean[c];
            float s = (float) std[c];
            for (int v = 0; v < 256; v++) {
                float scaled = (float) (v * (1.0 / 255));
                table[c][v] = (scaled - m) / s;
            }
        }
        return table;
    }
}
