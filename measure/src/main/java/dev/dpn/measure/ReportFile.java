package dev.dpn.measure;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Benchmark results as an indented JSON file, so that runs can be compared over time. */
public final class ReportFile {
    private ReportFile() {
    }

    /** Writes {@code report} (a record of figures) to {@code file}, creating its folder. */
    public static void write(Object report, Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), report);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the benchmark report " + file + ": " + e.getMessage(), e);
        }
    }
}
