package dev.dpn.runtime;

import dev.dpn.loader.config.DpeLayer;
import dev.dpn.loader.config.Kernel;
import dev.dpn.loader.config.LlavaConfig;
import dev.dpn.loader.config.PoolingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A request's choice of pooling, overriding the model config's (the CLI's {@code --pooling}):
 * <ul>
 *   <li>{@code none}: plain LLaVA, every layer sees every visual token;</li>
 *   <li>{@code adaptive}: the routers choose (the DPN models' default);</li>
 *   <li>{@code random}: a seeded uniform choice among each layer's experts;</li>
 *   <li>{@code static:E1,E2,...}: a fixed expert per DPE layer, each an index into that layer's experts or a
 *       kernel such as {@code 2x2}; a single value applies to every layer.</li>
 * </ul>
 * On a model without a {@code pooling} section, static and random pooling act at the layers DPN uses for
 * LLaVA-1.5-7B, scaled to the decoder's depth (7, 15 and 23 of 32), with the experts {1x1, 1x2, 2x2}.
 */
public record PoolingSpec(PoolingConfig.Type type, List<String> experts) {
    private static final List<Kernel> DEFAULT_EXPERTS = List.of(new Kernel(1, 1), new Kernel(1, 2), new Kernel(2, 2));

    public PoolingSpec {
        experts = List.copyOf(experts);
    }

    /** Parses {@code none}, {@code adaptive}, {@code random} or {@code static:E1,E2,...}. */
    public static PoolingSpec parse(String text) {
        String spec = text.strip().toLowerCase(Locale.ROOT);
        if (spec.startsWith("static:") && spec.length() > "static:".length()) {
            return new PoolingSpec(PoolingConfig.Type.STATIC, List.of(spec.substring("static:".length()).split(",", -1)));
        }
        return switch (spec) {
            case "none" -> new PoolingSpec(PoolingConfig.Type.NONE, List.of());
            case "adaptive" -> new PoolingSpec(PoolingConfig.Type.ADAPTIVE, List.of());
            case "random" -> new PoolingSpec(PoolingConfig.Type.RANDOM, List.of());
            default -> throw new IllegalArgumentException("unknown pooling '" + text
                    + "': use none, adaptive, random or static:E1,E2,... (expert indices or kernels like 2x2)");
        };
    }

    /** The pooling this spec asks of {@code config}'s model. */
    public PoolingConfig resolve(LlavaConfig config) {
        PoolingConfig own = config.pooling().layers().isEmpty() ? defaultLayers(config) : config.pooling();
        return switch (type) {
            case NONE -> PoolingConfig.NONE;
            case ADAPTIVE -> {
                if (config.pooling().type() != PoolingConfig.Type.ADAPTIVE) {
                    throw new IllegalArgumentException("adaptive pooling needs a model with routers; this model's "
                            + "pooling is " + config.pooling().type().name().toLowerCase(Locale.ROOT));
                }
                yield config.pooling();
            }
            case RANDOM -> own.withType(PoolingConfig.Type.RANDOM);
            case STATIC -> own.asStatic(kernels(own.layers()));
        };
    }

    private List<Kernel> kernels(List<DpeLayer> layers) {
        if (experts.size() != 1 && experts.size() != layers.size()) {
            throw new IllegalArgumentException("static pooling needs one expert for every DPE layer (" + layers.size()
                    + ", at decoder layers " + layers.stream().map(DpeLayer::index).toList() + ") or one for all, got "
                    + experts.size());
        }
        List<Kernel> kernels = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            kernels.add(expert(experts.get(experts.size() == 1 ? 0 : i).strip(), layers.get(i)));
        }
        return kernels;
    }

    private static Kernel expert(String text, DpeLayer layer) {
        try {
            String[] hw = text.split("x", -1);
            if (hw.length == 2) {
                return new Kernel(Integer.parseInt(hw[0]), Integer.parseInt(hw[1]));
            }
            int index = Integer.parseInt(text);
            if (index < 0 || index >= layer.experts().size()) {
                throw new IllegalArgumentException("expert " + index + " at decoder layer " + layer.index()
                        + ": it has experts 0 to " + (layer.experts().size() - 1) + " " + layer.experts());
            }
            return layer.experts().get(index);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is neither an expert index nor a kernel like 2x2");
        }
    }

    /** The DPN-LLaVA-1.5 layers (7, 15, 23 of 32) scaled to this decoder, for models without a pooling section. */
    private static PoolingConfig defaultLayers(LlavaConfig config) {
        int depth = config.textConfig().numHiddenLayers();
        List<DpeLayer> layers = new ArrayList<>();
        for (int quarter = 1; quarter <= 3; quarter++) {
            int index = Math.max(0, depth * quarter / 4 - 1);
            if (layers.isEmpty() || layers.getLast().index() != index) {
                layers.add(new DpeLayer(index, DEFAULT_EXPERTS));
            }
        }
        return new PoolingConfig(PoolingConfig.Type.RANDOM, layers, PoolingConfig.Function.MAX,
                PoolingConfig.Location.POST, PoolingConfig.RouterVersion.V1, false, false, false);
    }
}
