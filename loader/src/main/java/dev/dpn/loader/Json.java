package dev.dpn.loader;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** How this package reads JSON (safetensors headers, checkpoint indexes, configs), and how it quotes it in errors. */
final class Json {
    /**
     * Strict where leniency would hide a broken file: a duplicate key is an error rather than "last one wins", and
     * so is anything after the top-level value. Python's json module writes NaN and Infinity, so those are read.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private static final int QUOTE_LIMIT = 60;
    private static final String REDACTED_SOURCE =
            "Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); ";

    private Json() {
    }

    /** Jackson's reason and where in the text it arose. */
    static String describe(JsonProcessingException e) {
        // Jackson names no source (we do, in the message around this), but says so at length.
        String reason = e.getOriginalMessage().replace(REDACTED_SOURCE, "");
        JsonLocation at = e.getLocation();
        return reason + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
    }

    /** A value as JSON text, cut short so that a huge array cannot flood an error message. */
    static String quote(JsonNode value) {
        String text = value == null || value.isMissingNode() ? "nothing" : value.toString();
        return text.length() <= QUOTE_LIMIT ? text : text.substring(0, QUOTE_LIMIT) + "...";
    }
}
