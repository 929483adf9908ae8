package dev.dpn.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.CRC32;

/**
 * The tiny DPN-LLaVA model shipped inside dpn.jar, used when no {@code --model} is given. Weights must be a file to
 * be memory-mapped, so the model is unpacked once into a cache folder named after the files' checksums (a new jar
 * with other weights unpacks beside it); from a build's class folder it is used in place.
 */
final class EmbeddedModel {
    static final String NAME = "tiny-dpn-llava";
    private static final String RESOURCE = "/dpn/models/" + NAME + "/";
    private static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json", "generation_config.json", "chat_template.json");

    private EmbeddedModel() {
    }

    /** The folder of the embedded model, unpacked if need be. */
    static Path folder() throws IOException {
        URL config = EmbeddedModel.class.getResource(RESOURCE + "config.json");
        if (config == null) {
            throw new IllegalStateException("this dpn build has no embedded model; give one with --model DIR");
        }
        try {
            if (config.getProtocol().equals("file")) {
                return Path.of(config.toURI()).getParent();
            }
        } catch (URISyntaxException e) {
            throw new IllegalStateException("unusable resource location " + config, e);
        }
        try (JarFile jar = ((JarURLConnection) config.openConnection()).getJarFile()) {
            Path target = cacheRoot().resolve(NAME + "-" + checksum(jar));
            if (!Files.isDirectory(target)) {
                unpack(jar, target);
            }
            return target;
        }
    }

    /** {@code $DPN_CACHE}, else {@code $XDG_CACHE_HOME/dpn}, else {@code ~/.cache/dpn}. */
    private static Path cacheRoot() {
        String dpn = System.getenv("DPN_CACHE");
        if (dpn != null && !dpn.isBlank()) {
            return Path.of(dpn);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("dpn");
    }

    /** The CRC-32s and sizes the jar's directory records for the model's files: no need to read the weights. */
    private static String checksum(JarFile jar) {
        CRC32 crc = new CRC32();
        for (String file : FILES) {
            JarEntry entry = jar.getJarEntry(RESOURCE.substring(1) + file);
            if (entry != null) {
                crc.update(file.getBytes(UTF_8));
                crc.update(Long.toString(entry.getCrc()).getBytes(UTF_8));
                crc.update(Long.toString(entry.getSize()).getBytes(UTF_8));
            }
        }
        return String.format("%08x", crc.getValue());
    }

    /** Unpacks into a temporary sibling, then renames: a concurrent or interrupted run never sees a partial model. */
    private static void unpack(JarFile jar, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Path partial = Files.createTempDirectory(target.getParent(), NAME + ".partial-");
        try {
            for (String file : FILES) {
                JarEntry entry = jar.getJarEntry(RESOURCE.substring(1) + file);
                if (entry != null) {
                    try (InputStream in = jar.getInputStream(entry)) {
                        Files.copy(in, partial.resolve(file));
                    }
                }
            }
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                if (!Files.isDirectory(target)) {
                    throw e;
                }
            }
        } finally {
            deleteQuietly(partial);
        }
    }

    private static void deleteQuietly(Path folder) {
        if (!Files.exists(folder)) {
            return;
        }
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove " + folder, e);
        }
    }
}
