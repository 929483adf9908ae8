/**
 * Random-weight checkpoints with the exact shapes of real ones, for running the runtime at full size without
 * downloading a model: {@link dev.dpn.runtime.synthetic.RandomCheckpoint#of} a {@code LlavaConfig} (such as a
 * {@link dev.dpn.runtime.synthetic.ModelShape}'s), then {@code writeConfig} and {@code writeWeights} into a folder
 * that {@code LlavaModel.load} reads like a llava-hf download. The weights are seeded and streamed to disk; their
 * scales keep an untrained model's activations finite and its routers decisive through every layer.
 */
package dev.dpn.runtime.synthetic;
