/**
 * The DPN-LLaVA model as math over a {@link dev.dpn.kernels.Backend}: CLIP vision tower → projector → Llama decoder
 * whose Dynamic Pooling Experts shorten the visual span after chosen layers (DPN.md §2–3).
 *
 * <p>Use: {@link dev.dpn.runtime.model.LlavaModel#load} a llava-hf folder, open a
 * {@link dev.dpn.runtime.model.LlavaSession} per request with {@link dev.dpn.runtime.model.SessionOptions} (pooling
 * override, {@code <ROUTER>} id, token budget, seed), {@code prefill} the prompt ids and pixels, then {@code decode}
 * one token at a time; both return the next-token logits. {@link dev.dpn.runtime.model.PrefillTrace} reports the
 * pooling decisions and the tokens and visual grid each decoder layer saw.
 */
package dev.dpn.runtime.model;
