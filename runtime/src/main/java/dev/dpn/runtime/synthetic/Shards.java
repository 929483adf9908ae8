package dev.dpn.runtime.synthetic;

import java.util.ArrayList;
import java.util.List;

/**
 * How transformers' {@code save_pretrained} splits a state dict into files: tensors in order, a new shard whenever
 * the next tensor would take the current one past the limit, a tensor larger than the limit alone in its own.
 * One shard is {@code model.safetensors}; more are {@code model-0000i-of-0000n.safetensors} with an index.
 */
final class Shards {
    static final String SINGLE_FILE = "model.safetensors";

    record Shard(String fileName, List<PlannedTensor> tensors) {
        Shard {
            tensors = List.copyOf(tensors);
        }

        long byteSize() {
            return tensors.stream().mapToLong(t -> t.info().byteSize()).sum();
        }
    }

    private Shards() {
    }

    static List<Shard> split(List<PlannedTensor> tensors, long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("the shard size must be positive, got " + maxBytes);
        }
        List<List<PlannedTensor>> groups = new ArrayList<>();
        List<PlannedTensor> current = new ArrayList<>();
        long currentBytes = 0;
        for (PlannedTensor tensor : tensors) {
            long bytes = tensor.info().byteSize();
            if (!current.isEmpty() && (currentBytes + bytes > maxBytes || bytes > maxBytes)) {
                groups.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(tensor);
            currentBytes += bytes;
        }
        if (!current.isEmpty()) {
            groups.add(current);
        }
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            String name = groups.size() == 1 ? SINGLE_FILE
                    : String.format("model-%05d-of-%05d.safetensors", i + 1, groups.size());
            shards.add(new Shard(name, groups.get(i)));
        }
        return List.copyOf(shards);
    }
}
