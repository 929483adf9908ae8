package dev.dpn.cli;

import dev.dpn.runtime.Device;
import dev.dpn.runtime.DpnModel;
import dev.dpn.runtime.model.WeightLoading;
import dev.dpn.tensors.DType;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** Which model to load, where and on how many threads: shared by the commands that run a model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A llava-hf model folder (config.json, safetensors, tokenizer). Default: the embedded "
                    + EmbeddedModel.NAME + ".")
    Path folder;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads. Default: all cores (${DEFAULT-VALUE}).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--device", paramLabel = "cpu|cuda|auto", converter = DeviceConverter.class,
            description = "Where the kernels run: cpu, cuda (the first NVIDIA GPU; fails if there is none) or auto "
                    + "(the GPU if usable, else the CPU). Default: cpu.")
    Device device = Device.CPU;

    @Option(names = "--quantize", paramLabel = "q8_0|q4_0", converter = QuantizeCommand.TypeConverter.class,
            description = "Quantize the float linear layers on load, as dpn quantize would store them (slower to "
                    + "load; a quantized copy from dpn quantize opens at once). Default: as stored.")
    DType quantize;

    @Option(names = "--no-mmap", description = "Copy the linear layers into memory instead of reading them from the "
            + "mapped checkpoint (as llama.cpp's --no-mmap): slower to load; F16 models often decode faster.")
    boolean noMmap;

    DpnModel load() throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        }
        return DpnModel.load(folder != null ? folder : EmbeddedModel.folder(), device, threads,
                new WeightLoading(quantize, noMmap));
    }

    /** Lets picocli report an unknown device as a usage error. */
    static final class DeviceConverter implements ITypeConverter<Device> {
        @Override
        public Device convert(String value) {
            try {
                return Device.named(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
