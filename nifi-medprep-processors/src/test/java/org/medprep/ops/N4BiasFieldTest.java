/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * {@link N4BiasField} on synthetic images with a known bias: two tissue classes times a smooth field, in 2D and
 * 3D; the corrected image must have far less within-class variation, and results must not depend on the thread
 * count. The fidelity to ITK on real MR is {@link N4ItkReferenceTest}.
 */
class N4BiasFieldTest {

    private static Image phantom(int w, int h, int d, long seed) {
        Random rnd = new Random(seed);
        float[] data = new float[w * h * d];
        for (int z = 0; z < d; z++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double cx = (x - w / 2.0) / (w / 2.0);
                    double cy = (y - h / 2.0) / (h / 2.0);
                    double cz = d > 1 ? (z - d / 2.0) / (d / 2.0) : 0;
                    double r = Math.sqrt(cx * cx + cy * cy + cz * cz);
                    double u = r > 0.9 ? 0 : ((x / 6 + y / 6 + z / 6) % 2 == 0 ? 100 : 160);
                    double bias = Math.exp(0.3 * cx - 0.2 * cy * cy + 0.15 * cz);
                    data[(z * h + y) * w + x] = (float) (u == 0 ? 0 : u * bias * (1 + 0.01 * rnd.nextGaussian()));
                }
            }
        }
        return new Image(VoxelType.FLOAT32, w, h, d, 1, data, Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 32, "MONOCHROME2"));
    }

    /** Mean coefficient of variation of the two classes (by the phantom's class layout). */
    private static double classCv(Image img, int w, int h, int d) {
        double[] s = new double[2];
        double[] s2 = new double[2];
        double[] n = new double[2];
        for (int z = 0; z < d; z++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double cx = (x - w / 2.0) / (w / 2.0);
                    double cy = (y - h / 2.0) / (h / 2.0);
                    double cz = d > 1 ? (z - d / 2.0) / (d / 2.0) : 0;
                    if (Math.sqrt(cx * cx + cy * cy + cz * cz) > 0.85) {
                        continue;
                    }
                    int c = (x / 6 + y / 6 + z / 6) % 2;
                    double v = img.get((z * h + y) * w + x);
                    s[c] += v;
                    s2[c] += v * v;
                    n[c]++;
                }
            }
        }
        double cv = 0;
        for (int c = 0; c < 2; c++) {
            double m = s[c] / n[c];
            cv += Math.sqrt(s2[c] / n[c] - m * m) / m / 2;
        }
        return cv;
    }

    @Test
    void removesASmoothBiasIn2D() {
        Image in = phantom(160, 140, 1, 1);
        N4BiasField.Result r = N4BiasField.correct(in, N4BiasField.Parameters.itkDefaults().withShrinkFactor(2), 2);
        double before = classCv(in, 160, 140, 1);
        double after = classCv(r.corrected(), 160, 140, 1);
        assertTrue(after < 0.4 * before, "class CV " + before + " -> " + after);
        assertEquals(VoxelType.FLOAT32, r.corrected().type());
        assertEquals(4, r.iterations().length);
    }

    @Test
    void removesASmoothBiasIn3DAndIsThreadIndependent() {
        Image in = phantom(48, 44, 40, 2);
        N4BiasField.Parameters p = N4BiasField.Parameters.itkDefaults().withShrinkFactor(2)
                .withMaximumIterations(20, 20, 20);
        N4BiasField.Result one = N4BiasField.correct(in, p, 1);
        N4BiasField.Result two = N4BiasField.correct(in, p, 2);
        assertArrayEquals((float[]) one.corrected().data(), (float[]) two.corrected().data());
        assertArrayEquals((float[]) one.biasField().data(), (float[]) two.biasField().data());
        double before = classCv(in, 48, 44, 40);
        double after = classCv(one.corrected(), 48, 44, 40);
        assertTrue(after < 0.5 * before, "class CV " + before + " -> " + after);
    }

    @Test
    void refusesWhatItCannotCorrect() {
        Image tiny = phantom(6, 6, 1, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> N4BiasField.correct(tiny, N4BiasField.Parameters.itkDefaults(), 1));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        Image zeros = new Image(VoxelType.FLOAT32, 32, 32, 1, 1, new float[32 * 32], Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 32, "MONOCHROME2"));
        e = assertThrows(IllegalArgumentException.class, () -> N4BiasField.correct(zeros,
                N4BiasField.Parameters.itkDefaults().withMask(N4BiasField.MaskMode.NONZERO), 1));
        assertTrue(e.getMessage().contains("mask is empty"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> N4BiasField.Parameters.itkDefaults().withShrinkFactor(0));
    }
}
