/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import java.util.BitSet;
import org.medprep.image.Image;

/**
 * Metal in a CT: voxels above a HU threshold (default 3000 HU: above bone, whose cortical HU is typically below
 * 2000, while dental fillings, implants and prostheses reach far higher), counted and grouped into connected regions.
 * Meant to run on HU before any clip, since a clip at e.g. 1000 HU hides metal.
 *
 * <p>Voxels: HU = stored × RescaleSlope + RescaleIntercept (the Modality LUT, DICOM PS3.3 C.11.1.1.2) strictly
 * greater than the threshold. Regions: connected components with 26-connectivity in (z, y, x) (every voxel of the
 * 3 × 3 × 3 neighbourhood; in a single slice this is 8-connectivity), as {@code scipy.ndimage.label} with a
 * 3 × 3 × 3 structure of ones. Fraction: metal voxels / all voxels.
 *
 * <p>Severity, from the fraction f (heuristic bands for flagging images for review, not a clinical grading):
 * {@code none} (no metal voxel), {@code slight} (f &lt; 0.01 %), {@code moderate} (0.01 % ≤ f &lt; 0.1 %),
 * {@code severe} (f ≥ 0.1 %).
 */
public final class MetalDetection {

    /** The default threshold, in HU. */
    public static final double DEFAULT_THRESHOLD_HU = 3000;
    /** Upper fraction (exclusive) of {@code slight}. */
    public static final double SLIGHT_BELOW = 0.0001;
    /** Upper fraction (exclusive) of {@code moderate}. */
    public static final double MODERATE_BELOW = 0.001;

    /** What was found. */
    public record Result(long voxels, int regions, double fraction, String severity) {
    }

    private MetalDetection() {
    }

    /**
     * @throws IllegalArgumentException for an image with more than one channel or a threshold that is not finite
     */
    public static Result detect(Image image, double thresholdHu) {
        if (image.channels() != 1) {
            throw new IllegalArgumentException("metal detection needs a single-channel image; this one has "
                    + image.channels() + " channels");
        }
        if (!Double.isFinite(thresholdHu)) {
            throw new IllegalArgumentException("the metal threshold must be a finite HU value");
        }
        int n = image.size();
        BitSet metal = new BitSet(n);
        for (int i = 0; i < n; i++) {
            if (HounsfieldWindow.hu(image, i) > thresholdHu) {
                metal.set(i);
            }
        }
        long voxels = metal.cardinality();
        int regions = 0;
        int w = image.width();
        int h = image.height();
        int d = image.depth();
        int plane = w * h;
        int[] stack = new int[64];
        for (int seed = metal.nextSetBit(0); seed >= 0; seed = metal.nextSetBit(seed + 1)) {
            regions++;
            // Flood fill, clearing visited voxels from the mask.
            metal.clear(seed);
            int top = 0;
            stack[top++] = seed;
            while (top > 0) {
                int v = stack[--top];
                int z = v / plane;
                int y = (v % plane) / w;
                int x = v % w;
                for (int dz = -1; dz <= 1; dz++) {
                    int zz = z + dz;
                    if (zz < 0 || zz >= d) {
                        continue;
                    }
                    for (int dy = -1; dy <= 1; dy++) {
                        int yy = y + dy;
                        if (yy < 0 || yy >= h) {
                            continue;
                        }
                        for (int dx = -1; dx <= 1; dx++) {
                            int xx = x + dx;
                            if (xx < 0 || xx >= w) {
                                continue;
                            }
                            int u = zz * plane + yy * w + xx;
                            if (metal.get(u)) {
                                metal.clear(u);
                                if (top == stack.length) {
                                    stack = Arrays.copyOf(stack, stack.length * 2);
                                }
                                stack[top++] = u;
                            }
                        }
                    }
                }
            }
        }
        double fraction = (double) voxels / n;
        return new Result(voxels, regions, fraction, severity(voxels, fraction));
    }

    /** The severity band of a fraction (see the class comment). */
    static String severity(long voxels, double fraction) {
        if (voxels == 0) {
            return "none";
        }
        return fraction < SLIGHT_BELOW ? "slight" : fraction < MODERATE_BELOW ? "moderate" : "severe";
    }
}
