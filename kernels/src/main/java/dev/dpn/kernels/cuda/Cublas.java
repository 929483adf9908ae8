package dev.dpn.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * cuBLAS through FFM downcalls: one handle bound to a stream and {@code cublasGemmEx} for the prefill matmuls
 * (F16/BF16/F32 inputs, F32 accumulation and output). cuBLAS is not part of the driver, so it is looked for: the
 * file named by the {@code dpn.cublas} system property or the {@code DPN_CUBLAS} environment variable, else the
 * dynamic loader's search (LD_LIBRARY_PATH, ld.so.cache) for each known soname, else the CUDA toolkit and pip's
 * {@code nvidia-cublas} folders.
 */
final class Cublas implements AutoCloseable {
    static final String PROPERTY = "dpn.cublas";
    static final String ENVIRONMENT = "DPN_CUBLAS";
    private static final List<String> SONAMES = List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so.11",
            "libcublas.so");

    static final Binding CREATE = new Binding("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final Binding DESTROY = new Binding("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final Binding SET_STREAM = new Binding("cublasSetStream_v2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final Binding GET_STATUS_NAME = new Binding("cublasGetStatusName",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final Binding GET_STATUS_STRING = new Binding("cublasGetStatusString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final Binding GEMM_EX = new Binding("cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
            ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));

    static final List<Binding> BINDINGS = List.of(CREATE, DESTROY, SET_STREAM, GET_STATUS_NAME, GET_STATUS_STRING,
            GEMM_EX);

    /** {@code cudaDataType} values (library_types.h). */
    static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    static final int OP_N = 0, OP_T = 1;
    static final int COMPUTE_32F = 68;
    static final int GEMM_DEFAULT = -1;

    private final String library;
    private final MethodHandle cublasDestroy, cublasGetStatusName, cublasGetStatusString, cublasGemmEx;
    private final MemorySegment handle;
    /** alpha = 1 and beta = 0, read by every GEMM. */
    private final MemorySegment one, zero;

    private Cublas(String library, SymbolLookup lib, MemorySegment stream) {
        this.library = library;
        MethodHandle cublasCreate = CREATE.bind(lib, library);
        MethodHandle cublasSetStream = SET_STREAM.bind(lib, library);
        cublasDestroy = DESTROY.bind(lib, library);
        cublasGetStatusName = GET_STATUS_NAME.bind(lib, library);
        cublasGetStatusString = GET_STATUS_STRING.bind(lib, library);
        cublasGemmEx = GEMM_EX.bind(lib, library);
        one = Arena.global().allocateFrom(JAVA_FLOAT, 1f);
        zero = Arena.global().allocateFrom(JAVA_FLOAT, 0f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cublasCreate_v2", (int) cublasCreate.invokeExact(out));
            handle = out.get(ADDRESS, 0);
            check("cublasSetStream_v2", (int) cublasSetStream.invokeExact(handle, stream));
        } catch (Throwable t) {
            throw rethrow("cublasCreate_v2", t);
        }
    }

    /**
     * Opens cuBLAS and creates a handle on {@code stream}, in the calling thread's current context.
     *
     * @throws CudaUnavailableException if no cuBLAS library is found or it fails to load
     */
    static Cublas open(MemorySegment stream) {
        String explicit = Optional.ofNullable(System.getProperty(PROPERTY)).orElse(System.getenv(ENVIRONMENT));
        if (explicit != null && !explicit.isBlank()) {
            try {
                return new Cublas(explicit, SymbolLookup.libraryLookup(Path.of(explicit), Arena.global()), stream);
            } catch (IllegalArgumentException e) {
                throw new CudaUnavailableException("cannot load cuBLAS from " + explicit + " (" + PROPERTY + " / "
                        + ENVIRONMENT + "): " + e.getMessage(), e);
            }
        }
        List<String> tried = new ArrayList<>();
        for (String candidate : candidates()) {
            tried.add(candidate);
            SymbolLookup lib;
            try {
                lib = candidate.startsWith("/") ? SymbolLookup.libraryLookup(Path.of(candidate), Arena.global())
                        : SymbolLookup.libraryLookup(candidate, Arena.global());
            } catch (IllegalArgumentException e) {
                continue;
            }
            return new Cublas(candidate, lib, stream);
        }
        throw new CudaUnavailableException("no cuBLAS found (set " + ENVIRONMENT + " to libcublas.so.*); tried "
                + tried);
    }

    /** Sonames for the dynamic loader, then the files in the usual install folders. */
    static List<String> candidates() {
        List<String> out = new ArrayList<>(SONAMES);
        List<Path> folders = new ArrayList<>();
        String ldPath = System.getenv("LD_LIBRARY_PATH");
        if (ldPath != null) {
            for (String dir : ldPath.split(":")) {
                if (!dir.isEmpty()) {
                    folders.add(Path.of(dir));
                }
            }
        }
        folders.add(Path.of("/usr/local/cuda/lib64"));
        folders.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        folders.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        for (Path sitePackages : pythonPackageFolders()) {
            folders.add(sitePackages.resolve("nvidia/cublas/lib"));
            folders.add(sitePackages.resolve("nvidia/cu13/lib"));
        }
        for (Path folder : folders) {
            for (String soname : SONAMES) {
                Path file = folder.resolve(soname);
                if (Files.isRegularFile(file)) {
                    out.add(file.toString());
                }
            }
        }
        return out;
    }

    /** Where pip puts wheels such as nvidia-cublas-cu12: the active virtualenv, user and system site-packages. */
    private static List<Path> pythonPackageFolders() {
        List<Path> roots = new ArrayList<>();
        Optional.ofNullable(System.getenv("VIRTUAL_ENV")).ifPresent(v -> roots.add(Path.of(v, "lib")));
        roots.add(Path.of(System.getProperty("user.home"), ".local/lib"));
        roots.add(Path.of("/usr/local/lib"));
        roots.add(Path.of("/usr/lib"));
        List<Path> out = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (DirectoryStream<Path> pythons = Files.newDirectoryStream(root, "python3*")) {
                for (Path python : pythons) {
                    out.add(python.resolve("site-packages"));
                    out.add(python.resolve("dist-packages"));
                }
            } catch (IOException e) {
                // An unreadable folder is simply not a place cuBLAS can be loaded from.
            }
        }
        return out;
    }

    String library() {
        return library;
    }

    /**
     * Row-major {@code y[M,N] = x[M,K] · w[N,K]ᵀ} with F32 accumulation and F32 output. cuBLAS is column-major: the
     * row-major y is the column-major {@code yᵀ = w · xᵀ}, so w is read transposed ({@code OP_T}, ld K) and x as is.
     *
     * @param xType the cudaDataType of x, equal to w's (cublasGemmEx mixes no input types)
     */
    void gemm(int m, int n, int k, long w, int wType, long x, int xType, long y) {
        int status;
        try {
            status = (int) cublasGemmEx.invokeExact(handle, OP_T, OP_N, n, m, k, one, MemorySegment.ofAddress(w),
                    wType, k, MemorySegment.ofAddress(x), xType, k, zero, MemorySegment.ofAddress(y), CUDA_R_32F, n,
                    COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw rethrow("cublasGemmEx", t);
        }
        if (status != 0) {
            throw new CudaException("cublasGemmEx(M=" + m + ", N=" + n + ", K=" + k + ") failed: " + describe(status));
        }
    }

    @Override
    public void close() {
        try {
            check("cublasDestroy_v2", (int) cublasDestroy.invokeExact(handle));
        } catch (Throwable t) {
            throw rethrow("cublasDestroy_v2", t);
        }
    }

    private void check(String call, int status) {
        if (status != 0) {
            throw new CudaException(call + " failed: " + describe(status));
        }
    }

    /** "CUBLAS_STATUS_NOT_SUPPORTED (the functionality requested is not supported)". */
    private String describe(int status) {
        try {
            MemorySegment name = (MemorySegment) cublasGetStatusName.invokeExact(status);
            MemorySegment text = (MemorySegment) cublasGetStatusString.invokeExact(status);
            return name.reinterpret(Integer.MAX_VALUE).getString(0) + " ("
                    + text.reinterpret(Integer.MAX_VALUE).getString(0) + ")";
        } catch (Throwable t) {
            return "cublasStatus_t " + status;
        }
    }

    private static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof CudaException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new CudaException(call + " failed in the downcall: " + t, t);
    }
}
