package dev.dpn.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Reading the non-tensor facts the golden generators store as JSON, and the greedy choice they were made with. */
final class GoldenFacts {
    private GoldenFacts() {
    }

    /** A grid stored as [height, width]. */
    static Grid grid(JsonNode pair) {
        return new Grid(pair.get(0).asInt(), pair.get(1).asInt());
    }

    static List<Integer> ints(JsonNode array) {
        List<Integer> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asInt()));
        return values;
    }

    /** The first largest value's index: greedy decoding. */
    static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
