package dev.dpn.runtime.text;

import java.util.OptionalInt;

/**
 * The ids the runtime treats specially: {@code <unk>}, {@code <s>} that starts a prompt, {@code </s>} that ends
 * generation, and the added tokens {@code <image>} (where the visual tokens go) and {@code <ROUTER>} (what a DPN
 * model's router reads), where the tokenizer has them.
 */
public record SpecialIds(int unk, int bos, int eos, OptionalInt image, OptionalInt router) {
}
