package dev.dpn.loader.config;

import dev.dpn.loader.JsonConfig;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Enum-valued config keys, spelled in lower case in config.json ({@code "adaptive"} for {@code ADAPTIVE}). */
final class ConfigEnum {
    private ConfigEnum() {
    }

    static <E extends Enum<E>> E read(JsonConfig config, String key, Class<E> type, E fallback) {
        if (!config.has(key)) {
            return fallback;
        }
        String name = config.getString(key);
        for (E value : type.getEnumConstants()) {
            if (configName(value).equals(name)) {
                return value;
            }
        }
        throw config.invalid(key, "one of " + Arrays.stream(type.getEnumConstants())
                .map(ConfigEnum::configName).collect(Collectors.joining(", ")));
    }

    static String configName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
