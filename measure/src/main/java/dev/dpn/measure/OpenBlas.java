package dev.dpn.measure;

import dev.dpn.kernels.reference.ScalarBackend;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * OpenBLAS's {@code cblas_sgemm} and {@code cblas_sgemv}, bound through FFM: the baseline our matmul is measured
 * against.
 *
 * <p>{@link #load} finds the library, sets its thread count and checks small products against the scalar
 * reference before anything is timed, so a wrong binding cannot produce plausible-looking figures.
 */
public final class OpenBlas {
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private final MethodHandle sgemm;
    private final MethodHandle sgemv;
    private final String config;

    private OpenBlas(MethodHandle sgemm, MethodHandle sgemv, String config) {
        this.sgemm = sgemm;
        this.sgemv = sgemv;
        this.config = config;
    }

    /**
     * Binds the library, makes it use {@code threads} threads and verifies it numerically.
     *
     * @throws IllegalStateException if the library is missing or computes a wrong product
     */
    public static OpenBlas load(int threads) {
        SymbolLookup library = openLibrary();
        Linker linker = Linker.nativeLinker();
        MethodHandle setThreads = linker.downcallHandle(symbol(library, "openblas_set_num_threads"),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        MethodHandle getConfig = linker.downcallHandle(symbol(library, "openblas_get_config"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        MethodHandle sgemm = linker.downcallHandle(symbol(library, "cblas_sgemm"), FunctionDescriptor.ofVoid(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,     // order, transA, transB
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,     // M, N, K
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,    // alpha, A, lda
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT,                            // B, ldb
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));  // beta, C, ldc
        MethodHandle sgemv = linker.downcallHandle(symbol(library, "cblas_sgemv"), FunctionDescriptor.ofVoid(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,                           // order, transA
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,                           // rows, columns of A
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,    // alpha, A, lda
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT,                            // x, incX
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));  // beta, y, incY
        String config;
        try {
            setThreads.invokeExact(threads);
            config = ((MemorySegment) getConfig.invokeExact()).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("OpenBLAS setup call failed", t);
        }
        OpenBlas blas = new OpenBlas(sgemm, sgemv, config);
        blas.verify();
        return blas;
    }

    /** The library's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell MAX_THREADS=64"). */
    public String config() {
        return config;
    }

    /**
     * {@code y[m,n] = Σk x[m,k]·w[n,k]}, our matmul's layout: x [M,K], w [N,K] and y [M,N], all F32. A single row
     * goes to sgemv ({@code y = w·x}), as a tuned caller would: OpenBLAS 0.3.21 (Debian 12) takes sgemm's packing
     * path even at M = 1, which would make a weak baseline for decoding.
     */
    public void matmul(Tensor x, Tensor w, Tensor y) {
        int m = Math.toIntExact(x.rowCount());
        int n = w.intDim(0);
        int k = w.intDim(1);
        if (x.dtype() != DType.F32 || w.dtype() != DType.F32 || y.dtype() != DType.F32
                || x.dim(-1) != k || y.rowCount() != m || y.dim(-1) != n) {
            throw new IllegalArgumentException("OpenBLAS matmul needs F32 x [M,K], w [N,K], y [M,N]; got " + x + ", " + w
                    + ", " + y);
        }
        try {
            if (m == 1) {
                sgemv.invokeExact(ROW_MAJOR, NO_TRANS, n, k, 1f, w.data(), k, x.data(), 1, 0f, y.data(), 1);
            } else {
                sgemm.invokeExact(ROW_MAJOR, NO_TRANS, TRANS, m, n, k,
                        1f, x.data(), k, w.data(), k, 0f, y.data(), n);
            }
        } catch (Throwable t) {
            throw new IllegalStateException("OpenBLAS call failed", t);
        }
    }

    /** Compares small products, one through each entry point, with the scalar reference's. */
    private void verify() {
        try (ScalarBackend scalar = new ScalarBackend();
             ProductCheck gemm = new ProductCheck(5, (x, w, y) -> scalar.matmul(x, w, null, y));
             ProductCheck gemv = new ProductCheck(1, (x, w, y) -> scalar.matmul(x, w, null, y))) {
            gemm.require("OpenBLAS cblas_sgemm (is the binding wrong?)", this::matmul, DType.F32);
            gemv.require("OpenBLAS cblas_sgemv (is the binding wrong?)", this::matmul, DType.F32);
        }
    }

    private static SymbolLookup openLibrary() {
        List<String> tried = new ArrayList<>();
        for (Path candidate : candidates()) {
            tried.add(candidate.toString());
            if (Files.exists(candidate)) {
                return SymbolLookup.libraryLookup(candidate, Arena.global());
            }
        }
        // Last resort: whatever the dynamic loader's search path has under the plain name.
        try {
            return SymbolLookup.libraryLookup("libopenblas.so.0", Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("OpenBLAS not found (tried " + String.join(", ", tried)
                    + " and the loader path): install libopenblas0-pthread (scripts/bench does)", e);
        }
    }

    /** Debian's pthread build first: the plain name may resolve to the OpenMP or serial variant. */
    private static List<Path> candidates() {
        String multiarch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64" -> "aarch64-linux-gnu";
            default -> System.getProperty("os.arch") + "-linux-gnu";
        };
        Path lib = Path.of("/usr/lib", multiarch);
        return List.of(lib.resolve("openblas-pthread/libopenblas.so.0"), lib.resolve("libopenblas.so.0"));
    }

    private static MemorySegment symbol(SymbolLookup library, String name) {
        Optional<MemorySegment> symbol = library.find(name);
        return symbol.orElseThrow(() -> new IllegalStateException("the OpenBLAS library has no symbol " + name));
    }
}
