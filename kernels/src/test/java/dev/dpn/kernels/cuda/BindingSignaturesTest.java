package dev.dpn.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every hand-written descriptor equals the one its header prototype implies: arity, and each argument's type. */
class BindingSignaturesTest {

    @Test
    void driverBindingsMatchCudaH() throws IOException {
        Optional<Path> header = header("cuda.h");
        assumeTrue(header.isPresent(), "no cuda.h (set CUDA_HOME)");
        check(new CPrototypes(Files.readString(header.get())), CudaDriver.BINDINGS);
    }

    @Test
    void cublasBindingsMatchCublasApiH() throws IOException {
        Optional<Path> header = header("cublas_api.h");
        assumeTrue(header.isPresent(), "no cublas_api.h (CUDA toolkit or pip nvidia-cublas headers)");
        check(new CPrototypes(Files.readString(header.get())), Cublas.BINDINGS);
    }

    @Test
    void theParserReadsACublasStylePrototype() {
        String text = """
                CUBLASAPI cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);
                CUBLASAPI const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status);
                """;
        CPrototypes prototypes = new CPrototypes(text);
        assertEquals(Cublas.SET_STREAM.descriptor(), prototypes.descriptor("cublasSetStream_v2"));
        assertEquals(Cublas.GET_STATUS_NAME.descriptor(), prototypes.descriptor("cublasGetStatusName"));
    }

    private static void check(CPrototypes prototypes, List<Binding> bindings) {
        for (Binding binding : bindings) {
            assertEquals(prototypes.descriptor(binding.symbol()), binding.descriptor(), binding.symbol());
        }
    }

    private static Optional<Path> header(String name) {
        Stream<String> roots = Stream.of(System.getenv("CUDA_HOME"), "/usr/local/cuda", "/usr/local/cuda-13.0",
                "/usr/local/cuda-12");
        return roots.filter(r -> r != null).map(r -> Path.of(r, "include", name)).filter(Files::isRegularFile)
                .findFirst();
    }
}
