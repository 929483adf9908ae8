package dev.dpn.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The CUDA driver API ({@code libcuda.so.1}, which the NVIDIA driver installs) through FFM downcalls: the few
 * calls the backend needs, each checked. Symbols are the ones {@code cuda.h} maps the API names to ({@code
 * cuMemAlloc} → {@code cuMemAlloc_v2}, ...). Handles (contexts, streams, modules, functions, events) are opaque
 * pointers; device pointers ({@code CUdeviceptr}) and sizes are 64-bit integers.
 *
 * <p>The library is opened on first use ({@link #load}); a machine without it gets a
 * {@link CudaUnavailableException}, never a crash.
 */
final class CudaDriver {
    static final String LIBRARY = "libcuda.so.1";

    private static final FunctionDescriptor RESULT_INT = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final FunctionDescriptor RESULT_PTR = FunctionDescriptor.of(JAVA_INT, ADDRESS);

    static final Binding INIT = new Binding("cuInit", RESULT_INT);
    static final Binding DRIVER_GET_VERSION = new Binding("cuDriverGetVersion", RESULT_PTR);
    static final Binding GET_ERROR_NAME = new Binding("cuGetErrorName",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final Binding GET_ERROR_STRING = new Binding("cuGetErrorString",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final Binding DEVICE_GET_COUNT = new Binding("cuDeviceGetCount", RESULT_PTR);
    static final Binding DEVICE_GET = new Binding("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final Binding DEVICE_GET_NAME = new Binding("cuDeviceGetName",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final Binding DEVICE_GET_ATTRIBUTE = new Binding("cuDeviceGetAttribute",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final Binding PRIMARY_CTX_RETAIN = new Binding("cuDevicePrimaryCtxRetain",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final Binding PRIMARY_CTX_RELEASE = new Binding("cuDevicePrimaryCtxRelease_v2", RESULT_INT);
    static final Binding CTX_SET_CURRENT = new Binding("cuCtxSetCurrent", RESULT_PTR);
    static final Binding MEM_ALLOC = new Binding("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    static final Binding MEM_FREE = new Binding("cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final Binding MEMCPY_HTOD = new Binding("cuMemcpyHtoD_v2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG));
    static final Binding MEMCPY_DTOH = new Binding("cuMemcpyDtoH_v2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    static final Binding MEMCPY_HTOD_ASYNC = new Binding("cuMemcpyHtoDAsync_v2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
    static final Binding MEMCPY_DTOH_ASYNC = new Binding("cuMemcpyDtoHAsync_v2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
    static final Binding MEMCPY_DTOD_ASYNC = new Binding("cuMemcpyDtoDAsync_v2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
    static final Binding MEMSET_D8_ASYNC = new Binding("cuMemsetD8Async",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS));
    static final Binding STREAM_CREATE = new Binding("cuStreamCreate",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final Binding STREAM_SYNCHRONIZE = new Binding("cuStreamSynchronize", RESULT_PTR);
    static final Binding STREAM_DESTROY = new Binding("cuStreamDestroy_v2", RESULT_PTR);
    static final Binding EVENT_CREATE = new Binding("cuEventCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final Binding EVENT_RECORD = new Binding("cuEventRecord",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final Binding EVENT_SYNCHRONIZE = new Binding("cuEventSynchronize", RESULT_PTR);
    static final Binding EVENT_ELAPSED_TIME = new Binding("cuEventElapsedTime",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final Binding EVENT_DESTROY = new Binding("cuEventDestroy_v2", RESULT_PTR);
    static final Binding MODULE_LOAD_DATA = new Binding("cuModuleLoadData",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final Binding MODULE_UNLOAD = new Binding("cuModuleUnload", RESULT_PTR);
    static final Binding MODULE_GET_FUNCTION = new Binding("cuModuleGetFunction",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final Binding FUNC_SET_ATTRIBUTE = new Binding("cuFuncSetAttribute",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final Binding LAUNCH_KERNEL = new Binding("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    /** Every function bound, for the signature test. */
    static final List<Binding> BINDINGS = List.of(INIT, DRIVER_GET_VERSION, GET_ERROR_NAME, GET_ERROR_STRING,
            DEVICE_GET_COUNT, DEVICE_GET, DEVICE_GET_NAME, DEVICE_GET_ATTRIBUTE, PRIMARY_CTX_RETAIN,
            PRIMARY_CTX_RELEASE, CTX_SET_CURRENT, MEM_ALLOC, MEM_FREE, MEMCPY_HTOD, MEMCPY_DTOH, MEMCPY_HTOD_ASYNC,
            MEMCPY_DTOH_ASYNC, MEMCPY_DTOD_ASYNC, MEMSET_D8_ASYNC, STREAM_CREATE, STREAM_SYNCHRONIZE, STREAM_DESTROY,
            EVENT_CREATE, EVENT_RECORD, EVENT_SYNCHRONIZE, EVENT_ELAPSED_TIME, EVENT_DESTROY, MODULE_LOAD_DATA,
            MODULE_UNLOAD, MODULE_GET_FUNCTION, FUNC_SET_ATTRIBUTE, LAUNCH_KERNEL);

    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private static CudaDriver instance;

    private final MethodHandle cuInit, cuDriverGetVersion, cuGetErrorName, cuGetErrorString, cuDeviceGetCount,
            cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuMemAlloc, cuMemFree, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD8Async, cuStreamCreate, cuStreamSynchronize, cuStreamDestroy, cuEventCreate,
            cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy, cuModuleLoadData, cuModuleUnload,
            cuModuleGetFunction, cuFuncSetAttribute, cuLaunchKernel;

    private CudaDriver(SymbolLookup lib) {
        cuInit = INIT.bind(lib, LIBRARY);
        cuDriverGetVersion = DRIVER_GET_VERSION.bind(lib, LIBRARY);
        cuGetErrorName = GET_ERROR_NAME.bind(lib, LIBRARY);
        cuGetErrorString = GET_ERROR_STRING.bind(lib, LIBRARY);
        cuDeviceGetCount = DEVICE_GET_COUNT.bind(lib, LIBRARY);
        cuDeviceGet = DEVICE_GET.bind(lib, LIBRARY);
        cuDeviceGetName = DEVICE_GET_NAME.bind(lib, LIBRARY);
        cuDeviceGetAttribute = DEVICE_GET_ATTRIBUTE.bind(lib, LIBRARY);
        cuDevicePrimaryCtxRetain = PRIMARY_CTX_RETAIN.bind(lib, LIBRARY);
        cuDevicePrimaryCtxRelease = PRIMARY_CTX_RELEASE.bind(lib, LIBRARY);
        cuCtxSetCurrent = CTX_SET_CURRENT.bind(lib, LIBRARY);
        cuMemAlloc = MEM_ALLOC.bind(lib, LIBRARY);
        cuMemFree = MEM_FREE.bind(lib, LIBRARY);
        cuMemcpyHtoD = MEMCPY_HTOD.bind(lib, LIBRARY);
        cuMemcpyDtoH = MEMCPY_DTOH.bind(lib, LIBRARY);
        cuMemcpyHtoDAsync = MEMCPY_HTOD_ASYNC.bind(lib, LIBRARY);
        cuMemcpyDtoHAsync = MEMCPY_DTOH_ASYNC.bind(lib, LIBRARY);
        cuMemcpyDtoDAsync = MEMCPY_DTOD_ASYNC.bind(lib, LIBRARY);
        cuMemsetD8Async = MEMSET_D8_ASYNC.bind(lib, LIBRARY);
        cuStreamCreate = STREAM_CREATE.bind(lib, LIBRARY);
        cuStreamSynchronize = STREAM_SYNCHRONIZE.bind(lib, LIBRARY);
        cuStreamDestroy = STREAM_DESTROY.bind(lib, LIBRARY);
        cuEventCreate = EVENT_CREATE.bind(lib, LIBRARY);
        cuEventRecord = EVENT_RECORD.bind(lib, LIBRARY);
        cuEventSynchronize = EVENT_SYNCHRONIZE.bind(lib, LIBRARY);
        cuEventElapsedTime = EVENT_ELAPSED_TIME.bind(lib, LIBRARY);
        cuEventDestroy = EVENT_DESTROY.bind(lib, LIBRARY);
        cuModuleLoadData = MODULE_LOAD_DATA.bind(lib, LIBRARY);
        cuModuleUnload = MODULE_UNLOAD.bind(lib, LIBRARY);
        cuModuleGetFunction = MODULE_GET_FUNCTION.bind(lib, LIBRARY);
        cuFuncSetAttribute = FUNC_SET_ATTRIBUTE.bind(lib, LIBRARY);
        cuLaunchKernel = LAUNCH_KERNEL.bind(lib, LIBRARY);
    }

    /**
     * Opens {@code libcuda.so.1} and initialises the driver, once per JVM.
     *
     * @throws CudaUnavailableException if the library is missing or the driver finds no device
     */
    static synchronized CudaDriver load() {
        if (instance == null) {
            SymbolLookup lib;
            try {
                lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            } catch (IllegalArgumentException e) {
                throw new CudaUnavailableException("no CUDA driver found (" + LIBRARY + ")", e);
            }
            CudaDriver driver = new CudaDriver(lib);
            driver.init();
            instance = driver;
        }
        return instance;
    }

    private void init() {
        int status;
        try {
            status = (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw rethrow("cuInit", t);
        }
        if (status == CUDA_ERROR_NO_DEVICE) {
            throw new CudaUnavailableException("no CUDA device (cuInit: " + describe(status) + ")");
        }
        check("cuInit", status);
    }

    int driverVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) cuDriverGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDriverGetVersion", t);
        }
    }

    int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) cuDeviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetCount", t);
        }
    }

    int device(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGet", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGet", t);
        }
    }

    String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetName", t);
        }
    }

    int deviceAttribute(int device, int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetAttribute", t);
        }
    }

    /** The device's primary context, retained: the one the runtime API and cuBLAS use too. */
    MemorySegment retainPrimaryContext(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuDevicePrimaryCtxRetain", (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuDevicePrimaryCtxRetain", t);
        }
    }

    void releasePrimaryContext(int device) {
        try {
            check("cuDevicePrimaryCtxRelease_v2", (int) cuDevicePrimaryCtxRelease.invokeExact(device));
        } catch (Throwable t) {
            throw rethrow("cuDevicePrimaryCtxRelease_v2", t);
        }
    }

    /** Binds {@code context} to the calling thread: driver calls act on the thread's current context. */
    void setCurrent(MemorySegment context) {
        try {
            check("cuCtxSetCurrent", (int) cuCtxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw rethrow("cuCtxSetCurrent", t);
        }
    }

    long memAlloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int status = (int) cuMemAlloc.invokeExact(out, bytes);
            if (status != CUDA_SUCCESS) {
                throw new CudaException("cuMemAlloc_v2 of " + bytes + " bytes failed: " + describe(status));
            }
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow("cuMemAlloc_v2", t);
        }
    }

    void memFree(long pointer) {
        try {
            check("cuMemFree_v2", (int) cuMemFree.invokeExact(pointer));
        } catch (Throwable t) {
            throw rethrow("cuMemFree_v2", t);
        }
    }

    void copyHostToDevice(long dst, MemorySegment src, long bytes) {
        try {
            check("cuMemcpyHtoD_v2", (int) cuMemcpyHtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow("cuMemcpyHtoD_v2", t);
        }
    }

    void copyDeviceToHost(MemorySegment dst, long src, long bytes) {
        try {
            check("cuMemcpyDtoH_v2", (int) cuMemcpyDtoH.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoH_v2", t);
        }
    }

    /** From pageable memory the driver stages {@code src} before returning, so the caller may reuse it at once. */
    void copyHostToDeviceAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyHtoDAsync_v2", (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow("cuMemcpyHtoDAsync_v2", t);
        }
    }

    void copyDeviceToHostAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoHAsync_v2", (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoHAsync_v2", t);
        }
    }

    void copyDeviceToDeviceAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoDAsync_v2", (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoDAsync_v2", t);
        }
    }

    void zeroAsync(long dst, long bytes, MemorySegment stream) {
        try {
            check("cuMemsetD8Async", (int) cuMemsetD8Async.invokeExact(dst, (byte) 0, bytes, stream));
        } catch (Throwable t) {
            throw rethrow("cuMemsetD8Async", t);
        }
    }

    MemorySegment streamCreate() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuStreamCreate", (int) cuStreamCreate.invokeExact(out, 0));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuStreamCreate", t);
        }
    }

    void streamSynchronize(MemorySegment stream) {
        try {
            check("cuStreamSynchronize", (int) cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow("cuStreamSynchronize", t);
        }
    }

    void streamDestroy(MemorySegment stream) {
        try {
            check("cuStreamDestroy_v2", (int) cuStreamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow("cuStreamDestroy_v2", t);
        }
    }

    MemorySegment eventCreate() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuEventCreate", (int) cuEventCreate.invokeExact(out, 0));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuEventCreate", t);
        }
    }

    void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check("cuEventRecord", (int) cuEventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw rethrow("cuEventRecord", t);
        }
    }

    /** Milliseconds between two recorded events, after waiting for the second. */
    float elapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            check("cuEventSynchronize", (int) cuEventSynchronize.invokeExact(end));
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow("cuEventElapsedTime", t);
        }
    }

    void eventDestroy(MemorySegment event) {
        try {
            check("cuEventDestroy_v2", (int) cuEventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow("cuEventDestroy_v2", t);
        }
    }

    /** Loads a module from a NUL-terminated PTX text; the driver JIT-compiles it for the current device. */
    MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuModuleLoadData", (int) cuModuleLoadData.invokeExact(out, image));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuModuleLoadData", t);
        }
    }

    void moduleUnload(MemorySegment module) {
        try {
            check("cuModuleUnload", (int) cuModuleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw rethrow("cuModuleUnload", t);
        }
    }

    MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int status = (int) cuModuleGetFunction.invokeExact(out, module, arena.allocateFrom(name));
            if (status != CUDA_SUCCESS) {
                throw new CudaException("cuModuleGetFunction(" + name + ") failed: " + describe(status));
            }
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuModuleGetFunction", t);
        }
    }

    void funcSetAttribute(MemorySegment function, int attribute, int value) {
        try {
            check("cuFuncSetAttribute", (int) cuFuncSetAttribute.invokeExact(function, attribute, value));
        } catch (Throwable t) {
            throw rethrow("cuFuncSetAttribute", t);
        }
    }

    /** Queues {@code function} on {@code stream}; {@code params} is the {@code void**} array of argument addresses. */
    void launch(String name, MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int sharedBytes,
            MemorySegment stream, MemorySegment params) {
        int status;
        try {
            status = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes, stream,
                    params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow("cuLaunchKernel(" + name + ")", t);
        }
        if (status != CUDA_SUCCESS) {
            throw new CudaException("cuLaunchKernel(" + name + ", grid " + gridX + "×" + gridY + "×" + gridZ
                    + ", block " + blockX + ") failed: " + describe(status));
        }
    }

    private void check(String call, int status) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException(call + " failed: " + describe(status));
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", from the driver's own tables. */
    String describe(int status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(ADDRESS);
            MemorySegment text = arena.allocate(ADDRESS);
            int nameStatus = (int) cuGetErrorName.invokeExact(status, name);
            int textStatus = (int) cuGetErrorString.invokeExact(status, text);
            if (nameStatus != CUDA_SUCCESS || textStatus != CUDA_SUCCESS) {
                return "CUresult " + status;
            }
            return cString(name) + " (" + cString(text) + ")";
        } catch (Throwable t) {
            return "CUresult " + status;
        }
    }

    private static String cString(MemorySegment pointerHolder) {
        return pointerHolder.get(ADDRESS, 0).reinterpret(Integer.MAX_VALUE).getString(0);
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
