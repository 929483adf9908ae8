package dev.dpn.runtime.image;

/** How a non-square image becomes the square the vision tower sees. */
public enum ResizeMode {
    /** LLaVA-1.5 ({@code image_aspect_ratio = pad}): centre on a square of the mean colour, so nothing is cut off. */
    PAD,
    /** CLIPImageProcessor alone (llava-hf): scale the shortest side to the target, cut the centre square out. */
    CROP;

    /** The mode named {@code name}: "pad" or "crop" (case-insensitive). */
    public static ResizeMode named(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "pad" -> PAD;
            case "crop" -> CROP;
            default -> throw new IllegalArgumentException("unknown image mode '" + name + "' (pad or crop)");
        };
    }
}
