package dev.dpn.runtime.image;

import dev.dpn.loader.SafetensorsCheckpoint;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The test images and PIL's goldens, made by {@code runtime/src/test/python/make_image_goldens.py}. */
final class Fixtures {
    private Fixtures() {}

    static Path image(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/images/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource images/" + name, e);
        }
    }

    static SafetensorsCheckpoint goldens() {
        try {
            return SafetensorsCheckpoint.open(image("goldens.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A U8 [H, W, 3] golden as an image. */
    static RgbImage rgb(Tensor golden) {
        if (golden.dtype() != DType.U8 || golden.rank() != 3 || golden.dim(2) != 3) {
            throw new IllegalArgumentException("not an RGB image: " + golden);
        }
        return new RgbImage(golden.intDim(1), golden.intDim(0), golden.data().toArray(ValueLayout.JAVA_BYTE));
    }

    /** The largest difference between corresponding samples of two images of the same size. */
    static int maxDifference(RgbImage expected, RgbImage actual) {
        if (expected.width() != actual.width() || expected.height() != actual.height()) {
            throw new AssertionError("size " + actual.width() + "×" + actual.height() + ", expected "
                    + expected.width() + "×" + expected.height());
        }
        int max = 0;
        for (int i = 0; i < expected.pixels().length; i++) {
            max = Math.max(max, Math.abs((expected.pixels()[i] & 0xFF) - (actual.pixels()[i] & 0xFF)));
        }
        return max;
    }
}
