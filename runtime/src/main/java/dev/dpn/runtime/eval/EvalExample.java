package dev.dpn.runtime.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One held-out question with its exact answer.
 *
 * @param qtype the question type, the unit accuracy is reported in
 */
public record EvalExample(Path image, String question, String answer, String qtype) {
    static final String SPLIT_FILE = "split.jsonl";

    /**
     * Reads an evaluation split: a folder with {@value #SPLIT_FILE}, one JSON object a line with {@code image} (a
     * file beside it), {@code question}, {@code answer} and {@code qtype}.
     *
     * @throws IllegalArgumentException naming the file and line of a malformed record
     */
    public static List<EvalExample> readSplit(Path folder) throws IOException {
        Path file = folder.resolve(SPLIT_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(folder + " is not an evaluation split: it has no " + SPLIT_FILE);
        }
        ObjectMapper json = new ObjectMapper();
        List<EvalExample> examples = new ArrayList<>();
        try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int number = 0;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonNode record = json.readTree(line);
                    examples.add(new EvalExample(folder.resolve(text(record, "image")), text(record, "question"),
                            text(record, "answer"), text(record, "qtype")));
                } catch (IOException | IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + " line " + number + ": " + e.getMessage(), e);
                }
            }
        }
        if (examples.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no examples");
        }
        return examples;
    }

    private static String text(JsonNode record, String field) {
        JsonNode value = record.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("needs a string field \"" + field + "\"");
        }
        return value.textValue();
    }
}
