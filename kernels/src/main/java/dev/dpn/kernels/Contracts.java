package dev.dpn.kernels;

import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.util.Arrays;

/**
 * The argument checks of every {@link Backend} operation, shared so that all backends accept and reject exactly
 * the same calls. Each returns normally or throws an {@link IllegalArgumentException} naming the operation,
 * the argument and the shapes involved.
 */
public final class Contracts {
    private Contracts() {
    }

    /** Checks {@link Backend#matmul} and returns {M, N, K}. */
    public static int[] matmul(Tensor x, Tensor w, Tensor bias, Tensor y) {
        requireF32("matmul", "x", x);
        requireF32("matmul", "y", y);
        DType type = w.dtype();
        require(isFloatWeight(type) || type == DType.Q8_0 || type == DType.Q4_0,
                "matmul: w must be F32, F16, BF16, Q8_0 or Q4_0, got %s", w);
        require(w.rank() == 2, "matmul: w must be [N,K], got %s", w);
        int k = w.intDim(1);
        int n = w.intDim(0);
        require(k % type.blockSize() == 0, "matmul: %s weights come in blocks of %d along K, but w %s has K = %d",
                type, type.blockSize(), w, k);
        require(x.dim(-1) == k, "matmul: x %s does not match w %s in K", x, w);
        int m = Math.toIntExact(x.rowCount());
        require(y.dim(-1) == n && y.rowCount() == m, "matmul: y %s is not [%d,%d] for x %s, w %s", y, m, n, x, w);
        if (bias != null) {
            requireF32("matmul", "bias", bias);
            require(bias.size() == n, "matmul: bias %s does not have N=%d elements", bias, n);
        }
        return new int[] {m, n, k};
    }

    public static void download(Tensor src, float[] dst) {
        requireF32("download", "src", src);
        require(dst.length >= src.size(), "download: %s does not fit %d floats", src, dst.length);
    }

    public static void embed(Tensor table, int[] ids, Tensor out) {
        requireWeight("embed", "table", table);
        requireF32("embed", "out", out);
        require(table.rank() == 2, "embed: table must be [V,D], got %s", table);
        require(out.rowCount() == ids.length && out.dim(-1) == table.dim(1),
                "embed: out %s is not [%d,%d]", out, ids.length, table.dim(1));
        for (int id : ids) {
            require(id >= 0 && id < table.dim(0), "embed: token id %d outside the table's %d rows", id, table.dim(0));
        }
    }

    public static void copy(Tensor src, Tensor out) {
        require(src.dtype().isFloatingPoint(), "copy: src must be a float type, got %s", src);
        require(out.dtype() == DType.F32 || out.dtype() == DType.F16 && src.dtype() == DType.F32,
                "copy: out must be F32, or F16 from F32 src; got %s from %s", out, src);
        require(src.size() == out.size(), "copy: %s and %s differ in element count", src, out);
    }

    public static void rowNorm(String op, Tensor x, Tensor weight, Tensor bias, Tensor out) {
        requireF32(op, "x", x);
        requireF32(op, "weight", weight);
        requireF32(op, "out", out);
        sameShape(op, x, out);
        require(weight.size() == x.dim(-1), "%s: weight %s does not match rows of %s", op, weight, x);
        if (bias != null) {
            requireF32(op, "bias", bias);
            require(bias.size() == x.dim(-1), "%s: bias %s does not match rows of %s", op, bias, x);
        }
    }

    public static void elementwise(String op, Tensor a, Tensor b, Tensor out) {
        requireF32(op, "input", a);
        requireF32(op, "out", out);
        sameShape(op, a, out);
        if (b != null) {
            requireF32(op, "second input", b);
            sameShape(op, a, b);
        }
    }

    public static void rope(Tensor x, int[] positions, int headDim) {
        requireF32("rope", "x", x);
        require(headDim > 0 && headDim % 2 == 0, "rope: head dimension %d must be even", headDim);
        require(x.dim(-1) % headDim == 0, "rope: row length of %s is not a multiple of head dim %d", x, headDim);
        require(positions.length == x.rowCount(), "rope: %d positions for %d rows", positions.length, x.rowCount());
    }

    public static void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, Tensor out) {
        requireF32("attention", "q", q);
        requireF32("attention", "out", out);
        require(k.dtype() == DType.F32 || k.dtype() == DType.F16, "attention: k must be F32 or F16, got %s", k);
        require(v.dtype() == k.dtype(), "attention: v %s and k %s differ in dtype", v, k);
        require(heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
                "attention: %d heads cannot share %d key/value heads", heads, kvHeads);
        require(q.dim(-1) % heads == 0, "attention: q %s is not divisible into %d heads", q, heads);
        long headDim = q.dim(-1) / heads;
        sameShape("attention", q, out);
        sameShape("attention", k, v);
        require(k.dim(-1) == kvHeads * headDim, "attention: k %s is not [*, %d·%d]", k, kvHeads, headDim);
        require(kvLength >= q.rowCount() && kvLength <= k.rowCount(),
                "attention: kvLength %d must lie in [T=%d, capacity=%d]", kvLength, q.rowCount(), k.rowCount());
        require(q.size() == 0 || q.isHost() != out.isHost() || start(q) != start(out),
                "attention: out must not alias q");
    }

    /** Where a tensor's first element lives, host or device: aliasing is checked on the same side only. */
    private static long start(Tensor t) {
        return t.isHost() ? t.data().address() : t.deviceMemory().address();
    }

    public static void pool2d(Tensor x, int h, int w, int kh, int kw, Tensor out) {
        pool2d("pool2d", x, h, w, kh, kw, out);
    }

    private static void pool2d(String op, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        requireF32(op, "x", x);
        requireF32(op, "out", out);
        require(kh > 0 && kw > 0 && kh <= h && kw <= w, "%s: window %dx%d does not fit grid %dx%d", op, kh, kw, h, w);
        require(x.rowCount() == (long) h * w, "%s: x %s does not hold a %dx%d grid", op, x, h, w);
        require(out.rowCount() == (long) (h / kh) * (w / kw) && out.dim(-1) == x.dim(-1),
                "%s: out %s is not [%d,%d]", op, out, (h / kh) * (w / kw), x.dim(-1));
    }

    public static void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out) {
        requireF32("depthwiseConv2d", "weight", weight);
        require(weight.rank() == 3 && weight.dim(2) == x.dim(-1),
                "depthwiseConv2d: weight %s is not [kh, kw, %d]", weight, x.dim(-1));
        pool2d("depthwiseConv2d", x, h, w, weight.intDim(0), weight.intDim(1), out);
    }

    public static void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        requireF32("patchEmbed", "pixels", pixels);
        requireWeight("patchEmbed", "weight", weight);
        requireF32("patchEmbed", "out", out);
        require(pixels.rank() == 3 && weight.rank() == 4, "patchEmbed: pixels %s must be [C,H,W], weight %s [D,C,P,P]",
                pixels, weight);
        long p = weight.dim(2);
        require(weight.dim(3) == p && weight.dim(1) == pixels.dim(0), "patchEmbed: weight %s does not fit pixels %s",
                weight, pixels);
        long patches = (pixels.dim(1) / p) * (pixels.dim(2) / p);
        require(out.rowCount() == patches && out.dim(-1) == weight.dim(0), "patchEmbed: out %s is not [%d,%d]", out,
                patches, weight.dim(0));
        if (bias != null) {
            requireF32("patchEmbed", "bias", bias);
            require(bias.size() == weight.dim(0), "patchEmbed: bias %s does not match D", bias);
        }
    }

    private static void requireF32(String op, String what, Tensor t) {
        require(t.dtype() == DType.F32, "%s: %s must be F32, got %s", op, what, t);
    }

    private static void requireWeight(String op, String what, Tensor t) {
        require(isFloatWeight(t.dtype()), "%s: %s must be F32, F16 or BF16, got %s", op, what, t);
    }

    private static boolean isFloatWeight(DType type) {
        return type == DType.F32 || type == DType.F16 || type == DType.BF16;
    }

    private static void sameShape(String op, Tensor a, Tensor b) {
        require(Arrays.equals(a.shape(), b.shape()), "%s: shapes %s and %s differ", op, a, b);
    }

    private static void require(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }
}
