package dev.dpn.kernels.reference;

import dev.dpn.kernels.Activation;
import dev.dpn.kernels.Backend;
import dev.dpn.kernels.Contracts;
import dev.dpn.kernels.PoolType;
import dev.dpn.tensors.DType;
import dev.dpn.tensors.Tensor;
import dev.dpn.tensors.TensorArena;

/**
 * The reference semantics of every operation: plain loops, one element at a time, double accumulation where a
 * sum is long. Slow by design; the fast backends are tested against it.
 */
public final class ScalarBackend implements Backend {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public Tensor allocate(TensorArena arena, DType dtype, long... shape) {
        return arena.allocate(dtype, shape);
    }

    @Override
    public void matmul(Tensor x, Tensor w, Tensor bias, Tensor y) {
        int[] mnk = Contracts.matmul(x, w, bias, y);
        int m = mnk[0], n = mnk[1], k = mnk[2];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = bias == null ? 0 : bias.getFloat(j);
                for (int p = 0; p < k; p++) {
                    // DType reads block-quantized weights too, which Tensor's element access refuses.
                    sum += (double) x.getFloat((long) i * k + p) * w.dtype().getFloat(w.data(), (long) j * k + p);
                }
                y.setFloat((long) i * n + j, (float) sum);
            }
        }
    }

    @Override
    public void embed(Tensor table, int[] ids, Tensor out) {
        Contracts.embed(table, ids, out);
        long d = table.dim(1);
        for (int t = 0; t < ids.length; t++) {
            for (long c = 0; c < d; c++) {
                out.setFloat(t * d + c, table.getFloat(ids[t] * d + c));
            }
        }
    }

    @Override
    public void copy(Tensor src, Tensor out) {
        Contracts.copy(src, out);
        for (long i = 0; i < src.size(); i++) {
            out.setFloat(i, src.getFloat(i));
        }
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        Contracts.rowNorm("rmsNorm", x, weight, null, out);
        int d = x.intDim(-1);
        for (long r = 0; r < x.rowCount(); r++) {
            long base = r * d;
            double squares = 0;
            for (int c = 0; c < d; c++) {
                double v = x.getFloat(base + c);
                squares += v * v;
            }
            double inv = 1 / Math.sqrt(squares / d + eps);
            for (int c = 0; c < d; c++) {
                out.setFloat(base + c, (float) (x.getFloat(base + c) * inv * weight.getFloat(c)));
            }
        }
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out) {
        Contracts.rowNorm("layerNorm", x, weight, bias, out);
        int d = x.intDim(-1);
        for (long r = 0; r < x.rowCount(); r++) {
            long base = r * d;
            double sum = 0;
            for (int c = 0; c < d; c++) {
                sum += x.getFloat(base + c);
            }
            double mean = sum / d;
            double squares = 0;
            for (int c = 0; c < d; c++) {
                double dev = x.getFloat(base + c) - mean;
                squares += dev * dev;
            }
            double inv = 1 / Math.sqrt(squares / d + eps);
            for (int c = 0; c < d; c++) {
                double v = (x.getFloat(base + c) - mean) * inv * weight.getFloat(c) + bias.getFloat(c);
                out.setFloat(base + c, (float) v);
            }
        }
    }

    @Override
    public void softmax(Tensor x, float scale) {
        Contracts.elementwise("softmax", x, null, x);
        int d = x.intDim(-1);
        for (long r = 0; r < x.rowCount(); r++) {
            long base = r * d;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < d; c++) {
                max = Math.max(max, (double) x.getFloat(base + c) * scale);
            }
            double sum = 0;
            for (int c = 0; c < d; c++) {
                sum += Math.exp((double) x.getFloat(base + c) * scale - max);
            }
            for (int c = 0; c < d; c++) {
                x.setFloat(base + c, (float) (Math.exp((double) x.getFloat(base + c) * scale - max) / sum));
            }
        }
    }

    @Override
    public void activate(Activation f, Tensor x, Tensor out) {
        Contracts.elementwise("activate", x, null, out);
        for (long i = 0; i < x.size(); i++) {
            out.setFloat(i, (float) activation(f, x.getFloat(i)));
        }
    }

    /** The activation functions in double precision. */
    public static double activation(Activation f, double v) {
        return switch (f) {
            case GELU -> 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            case QUICK_GELU -> v * sigmoid(1.702 * v);
            case SILU -> v * sigmoid(v);
        };
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    @Override
    public void siluGate(Tensor gate, Tensor up, Tensor out) {
        Contracts.elementwise("siluGate", gate, up, out);
        for (long i = 0; i < gate.size(); i++) {
            out.setFloat(i, (float) (activation(Activation.SILU, gate.getFloat(i)) * up.getFloat(i)));
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Contracts.elementwise("add", a, b, out);
        for (long i = 0; i < a.size(); i++) {
            out.setFloat(i, a.getFloat(i) + b.getFloat(i));
        }
    }

    @Override
    public void scale(Tensor x, float s, Tensor out) {
        Contracts.elementwise("scale", x, null, out);
        for (long i = 0; i < x.size(); i++) {
            out.setFloat(i, x.getFloat(i) * s);
        }
    }

    @Override
    public void rope(Tensor x, int[] positions, int headDim, float theta) {
        Contracts.rope(x, positions, headDim);
        int width = x.intDim(-1);
        int half = headDim / 2;
        for (int t = 0; t < positions.length; t++) {
            for (int head = 0; head < width / headDim; head++) {
                long base = (long) t * width + (long) head * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = positions[t] * Math.pow(theta, -2.0 * i / headDim);
                    double cos = Math.cos(angle), sin = Math.sin(angle);
                    double a = x.getFloat(base + i), b = x.getFloat(base + i + half);
                    x.setFloat(base + i, (float) (a * cos - b * sin));
                    x.setFloat(base + i + half, (float) (b * cos + a * sin));
                }
            }
        }
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int kvLength, int heads, int kvHeads, boolean causal,
                          float scale, Tensor out) {
        Contracts.attention(q, k, v, kvLength, heads, kvHeads, out);
        int tokens = Math.toIntExact(q.rowCount());
        int headDim = q.intDim(-1) / heads;
        int qWidth = heads * headDim, kvWidth = kvHeads * headDim;
        double[] scores = new double[kvLength];
        for (int t = 0; t < tokens; t++) {
            int visible = causal ? kvLength - tokens + t + 1 : kvLength;
            for (int h = 0; h < heads; h++) {
                long qBase = (long) t * qWidth + (long) h * headDim;
                int kvHead = h / (heads / kvHeads);
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < visible; s++) {
                    long kBase = (long) s * kvWidth + (long) kvHead * headDim;
                    double dot = 0;
                    for (int i = 0; i < headDim; i++) {
                        dot += (double) q.getFloat(qBase + i) * k.getFloat(kBase + i);
                    }
                    scores[s] = dot * scale;
                    max = Math.max(max, scores[s]);
                }
                double sum = 0;
                for (int s = 0; s < visible; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    sum += scores[s];
                }
                for (int i = 0; i < headDim; i++) {
                    double acc = 0;
                    for (int s = 0; s < visible; s++) {
                        acc += scores[s] * v.getFloat((long) s * kvWidth + (long) kvHead * headDim + i);
                    }
                    out.setFloat(qBase + i, (float) (acc / sum));
                }
            }
        }
    }

    @Override
    public void pool2d(PoolType type, Tensor x, int h, int w, int kh, int kw, Tensor out) {
        Contracts.pool2d(x, h, w, kh, kw, out);
        int d = x.intDim(-1);
        int outH = h / kh, outW = w / kw;
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                for (int c = 0; c < d; c++) {
                    double acc = type == PoolType.MAX ? Double.NEGATIVE_INFINITY : 0;
                    for (int dy = 0; dy < kh; dy++) {
                        for (int dx = 0; dx < kw; dx++) {
                            long token = (long) (oy * kh + dy) * w + (ox * kw + dx);
                            float value = x.getFloat(token * d + c);
                            acc = type == PoolType.MAX ? Math.max(acc, value) : acc + value;
                        }
                    }
                    if (type == PoolType.AVG) {
                        acc /= kh * kw;
                    }
                    out.setFloat(((long) oy * outW + ox) * d + c, (float) acc);
                }
            }
        }
    }

    @Override
    public void depthwiseConv2d(Tensor x, int h, int w, Tensor weight, Tensor out) {
        Contracts.depthwiseConv2d(x, h, w, weight, out);
        int d = x.intDim(-1);
        int kh = weight.intDim(0), kw = weight.intDim(1);
        int outH = h / kh, outW = w / kw;
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                for (int c = 0; c < d; c++) {
                    double sum = 0;
                    for (int dy = 0; dy < kh; dy++) {
                        for (int dx = 0; dx < kw; dx++) {
                            long token = (long) (oy * kh + dy) * w + (ox * kw + dx);
                            sum += (double) x.getFloat(token * d + c) * weight.getFloat(((long) dy * kw + dx) * d + c);
                        }
                    }
                    out.setFloat(((long) oy * outW + ox) * d + c, (float) sum);
                }
            }
        }
    }

    @Override
    public void patchEmbed(Tensor pixels, Tensor weight, Tensor bias, Tensor out) {
        Contracts.patchEmbed(pixels, weight, bias, out);
        int channels = pixels.intDim(0), height = pixels.intDim(1), width = pixels.intDim(2);
        int dim = weight.intDim(0), p = weight.intDim(2);
        int cols = width / p;
        for (int patch = 0; patch < out.rowCount(); patch++) {
            int py = patch / cols, px = patch % cols;
            for (int o = 0; o < dim; o++) {
                double sum = bias == null ? 0 : bias.getFloat(o);
                for (int c = 0; c < channels; c++) {
                    for (int dy = 0; dy < p; dy++) {
                        for (int dx = 0; dx < p; dx++) {
                            long pixel = ((long) c * height + (long) py * p + dy) * width + (long) px * p + dx;
                            long weightIndex = (((long) o * channels + c) * p + dy) * p + dx;
                            sum += (double) pixels.getFloat(pixel) * weight.getFloat(weightIndex);
                        }
                    }
                }
                out.setFloat((long) patch * dim + o, (float) sum);
            }
        }
    }

    @Override
    public void close() {
    }
}
