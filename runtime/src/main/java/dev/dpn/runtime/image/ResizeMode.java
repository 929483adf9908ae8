package dev.dpn.runtime.image;

/** How a non-square image becomes the square the vision tower sees. */
public enum ResizeMode {
    /** LLaVA-1.5 ({@code image_aspect_ratio = pad}): centre on a square of the mean colour, so nothing is cut off. */
    PAD,
    /** CLIPImageProcessor alone (llava-hf): scale the shortest side to the target, cut the centre square out. */
    CROP
}
