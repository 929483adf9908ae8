package dev.dpn.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads C prototypes out of a CUDA header and turns them into the FFM descriptors they imply on x86-64 Linux, so
 * that the hand-written bindings can be checked against the header they were written from.
 */
final class CPrototypes {
    /** Opaque handle types: pointers to structs. */
    private static final Set<String> HANDLES = Set.of("CUcontext", "CUstream", "CUevent", "CUmodule", "CUfunction",
            "cublasHandle_t", "cudaStream_t");
    private static final Set<String> LONGS = Set.of("size_t", "CUdeviceptr", "unsigned long long");

    private final String header;

    CPrototypes(String header) {
        this.header = header.replaceAll("(?s)/\\*.*?\\*/", " ");
    }

    /**
     * The descriptor of the function exported as {@code symbol}: its own prototype, or that of the API name that a
     * {@code #define NAME symbol} (possibly through {@code __CUDA_API_PTDS(symbol)}) maps to it.
     */
    FunctionDescriptor descriptor(String symbol) {
        Matcher prototype = prototype(symbol);
        if (prototype == null) {
            Matcher define = Pattern.compile("#define\\s+(\\w+)\\s+(?:__CUDA_API_\\w+\\()?" + symbol + "\\)?\\s*\\n")
                    .matcher(header);
            if (!define.find() || (prototype = prototype(define.group(1))) == null) {
                throw new AssertionError("no prototype for " + symbol);
            }
        }
        MemoryLayout result = layout(prototype.group(1));
        List<MemoryLayout> params = new ArrayList<>();
        String list = prototype.group(2).trim();
        if (!list.equals("void")) {
            for (String param : list.split(",")) {
                params.add(layout(param.trim().replaceAll("\\s+\\w+$", "")));
            }
        }
        return FunctionDescriptor.of(result, params.toArray(MemoryLayout[]::new));
    }

    private Matcher prototype(String name) {
        Matcher m = Pattern.compile("([\\w ]+?\\*?)\\s+(?:CUDAAPI|CUBLASWINAPI)\\s+" + name + "\\s*\\(([^)]*)\\)")
                .matcher(header);
        return m.find() ? m : null;
    }

    /** The layout of a C type on x86-64 Linux: pointers and handles are addresses, enums are ints. */
    static MemoryLayout layout(String cType) {
        String type = cType.replace("const", " ").replace("CUBLASAPI", " ").trim().replaceAll("\\s+", " ");
        if (type.contains("*") || HANDLES.contains(type)) {
            return ADDRESS;
        }
        if (LONGS.contains(type)) {
            return JAVA_LONG;
        }
        return switch (type) {
            case "float" -> JAVA_FLOAT;
            case "unsigned char" -> JAVA_BYTE;
            case "int", "unsigned int", "unsigned" -> JAVA_INT;
            default -> {
                if (type.matches("(CU|cublas|cuda)\\w*")) {
                    yield JAVA_INT; // CUresult, CUdevice, cublasStatus_t and the API's enums
                }
                throw new AssertionError("unmapped C type '" + cType + "'");
            }
        };
    }
}
