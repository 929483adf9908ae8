package dev.dpn.kernels.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * One C function of a native library: its exported symbol and its signature as an FFM descriptor. Kept as data so
 * that a test can compare every descriptor with the prototype in the CUDA headers.
 */
record Binding(String symbol, FunctionDescriptor descriptor) {

    MethodHandle bind(SymbolLookup library, String libraryName) {
        var address = library.find(symbol).orElseThrow(() -> new CudaUnavailableException(
                libraryName + " has no symbol " + symbol + " (too old a version?)"));
        return Linker.nativeLinker().downcallHandle(address, descriptor);
    }
}
