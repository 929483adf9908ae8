package dev.dpn.loader.config;

import dev.dpn.loader.ConfigException;
import dev.dpn.loader.JsonConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The DPN {@code pooling} section of config.json (DPN.md §3): which decoder layers pool the visual tokens, with
 * which experts, and how an expert is chosen. A config without the section reads as {@link #NONE}: plain LLaVA.
 *
 * @param type                    how each DPE layer picks its expert
 * @param layers                  the DPE layers, in config order
 * @param function                how an expert merges a window of tokens
 * @param location                whether a DPE layer pools its output ({@code post}) or its input ({@code pre})
 * @param routerVersion           v1: LayerNorm → Linear(d, d/4) → GELU → Linear(d/4, E); v2: Linear(d, E)
 * @param useSpecialToken         routers read the {@code <ROUTER>} token(s); otherwise the last prompt token
 * @param prepooling              the authors' vision-side 2×2 average pooling of the patch grid before the projector
 * @param detachClsTokenToPredict training only: no effect on inference
 */
public record PoolingConfig(Type type, List<DpeLayer> layers, Function function, Location location,
        RouterVersion routerVersion, boolean useSpecialToken, boolean prepooling, boolean detachClsTokenToPredict) {

    public enum Type { NONE, STATIC, ADAPTIVE, RANDOM }

    /** Conv experts are depthwise convolutions with kernel = stride, one weight per channel and window cell. */
    public enum Function { MAX, AVG, CONV }

    public enum Location { PRE, POST }

    public enum RouterVersion { V1, V2 }

    /** Plain LLaVA: no pooling anywhere. */
    public static final PoolingConfig NONE = new PoolingConfig(Type.NONE, List.of(), Function.MAX, Location.POST,
            RouterVersion.V1, false, false, false);

    private static final Set<String> KNOWN_KEYS = Set.of("pooling_type", "pooling_layers", "pooling_function",
            "pooling_location", "router_version", "use_special_token", "prepooling", "detach_cls_token_to_predict");

    public PoolingConfig {
        layers = List.copyOf(layers);
        if (type == Type.STATIC && function == Function.CONV) {
            throw new IllegalArgumentException(
                    "static pooling uses max or avg; conv experts need a router to choose them");
        }
        Set<Integer> indices = new HashSet<>();
        for (DpeLayer layer : layers) {
            if (!indices.add(layer.index())) {
                throw new IllegalArgumentException("two DPE layers at decoder layer " + layer.index());
            }
            if (type == Type.STATIC && layer.experts().size() != 1) {
                throw new IllegalArgumentException("static pooling takes one kernel per DPE layer; layer "
                        + layer.index() + " has " + layer.experts().size());
            }
        }
    }

    /**
     * A training-free pyramid: max pooling with a fixed kernel at each given layer, no routers, no scaling; works
     * on any LLaVA checkpoint.
     */
    public static PoolingConfig staticPooling(List<DpeLayer> layers) {
        return new PoolingConfig(Type.STATIC, layers, Function.MAX, Location.POST, RouterVersion.V1, false, false,
                false);
    }

    /** The DPE layer acting on decoder layer {@code index}, if any. */
    public Optional<DpeLayer> layerAt(int index) {
        return layers.stream().filter(layer -> layer.index() == index).findFirst();
    }

    /** The same layers and experts with another way of choosing: for NONE, RANDOM, ADAPTIVE, or STATIC layers. */
    public PoolingConfig withType(Type newType) {
        return new PoolingConfig(newType, layers, function, location, routerVersion, useSpecialToken, prepooling,
                detachClsTokenToPredict);
    }

    /** Static pooling at the same layers, with {@code kernels.get(i)} at layer i (in config order). */
    public PoolingConfig asStatic(List<Kernel> kernels) {
        if (kernels.size() != layers.size()) {
            throw new IllegalArgumentException("static pooling needs one kernel per DPE layer (" + layers.size()
                    + "), got " + kernels.size());
        }
        List<DpeLayer> fixed = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            fixed.add(new DpeLayer(layers.get(i).index(), List.of(kernels.get(i))));
        }
        return new PoolingConfig(Type.STATIC, fixed, function, location, routerVersion, useSpecialToken, prepooling,
                detachClsTokenToPredict);
    }

    /** Reads the {@code pooling} section; unknown keys are reported in {@code warnings}, not rejected. */
    static PoolingConfig from(JsonConfig section, List<String> warnings) {
        for (String key : section.keys()) {
            if (!KNOWN_KEYS.contains(key)) {
                warnings.add(section + ": unknown key '" + key + "' ignored");
            }
        }
        Type type = ConfigEnum.read(section, "pooling_type", Type.class, Type.ADAPTIVE);
        Function function = ConfigEnum.read(section, "pooling_function", Function.class, Function.MAX);
        if (type == Type.STATIC && function == Function.CONV) {
            throw section.invalid("pooling_function", "max or avg for static pooling (conv experts need a router)");
        }
        List<DpeLayer> layers = new ArrayList<>();
        if (section.has("pooling_layers")) {
            Set<Integer> indices = new HashSet<>();
            for (JsonConfig entry : section.sections("pooling_layers")) {
                DpeLayer layer = readLayer(entry, type);
                if (!indices.add(layer.index())) {
                    throw entry.invalid("index", "distinct from the other pooling layers' indices");
                }
                layers.add(layer);
            }
        }
        return new PoolingConfig(type, layers, function,
                ConfigEnum.read(section, "pooling_location", Location.class, Location.POST),
                ConfigEnum.read(section, "router_version", RouterVersion.class, RouterVersion.V1),
                section.getBoolean("use_special_token", false),
                section.getBoolean("prepooling", false),
                section.getBoolean("detach_cls_token_to_predict", false));
    }

    private static DpeLayer readLayer(JsonConfig entry, Type type) {
        int index = entry.getInt("index");
        if (index < 0) {
            throw entry.invalid("index", "a non-negative decoder layer index");
        }
        List<Kernel> kernels = readKernels(entry, "kernel_size", type);
        if (entry.has("stride") && !readKernels(entry, "stride", type).equals(kernels)) {
            throw entry.invalid("stride", "equal to kernel_size " + kernels + " (experts pool with stride = kernel)");
        }
        return new DpeLayer(index, kernels);
    }

    /** Static layers hold one [kh, kw] pair; the other types a list of pairs, one per expert. */
    private static List<Kernel> readKernels(JsonConfig entry, String key, Type type) {
        String requirement = type == Type.STATIC
                ? "a single [kh, kw] pair of positive integers for static pooling"
                : "a non-empty list of [kh, kw] pairs of positive integers, one per expert";
        int[][] pairs;
        try {
            pairs = type == Type.STATIC ? new int[][] {entry.getIntArray(key)} : entry.getIntArrays(key);
        } catch (ConfigException wrongShape) {
            throw entry.invalid(key, requirement);
        }
        List<Kernel> kernels = new ArrayList<>();
        for (int[] pair : pairs) {
            if (pair.length != 2 || pair[0] <= 0 || pair[1] <= 0) {
                throw entry.invalid(key, requirement);
            }
            kernels.add(new Kernel(pair[0], pair[1]));
        }
        if (kernels.isEmpty()) {
            throw entry.invalid(key, requirement);
        }
        return List.copyOf(kernels);
    }
}
