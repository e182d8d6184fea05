/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/** Synthetic images and helpers shared by the io tests. */
final class TestImages {

    private TestImages() {
    }

    /** An oblique geometry: rotation about an oblique axis, optionally with the z axis flipped (det = -1). */
    static Geometry oblique(boolean improper) {
        double ax = 0.3, ay = -0.5, az = 0.8;
        double n = Math.sqrt(ax * ax + ay * ay + az * az);
        ax /= n;
        ay /= n;
        az /= n;
        double t = 0.7;
        double c = Math.cos(t), s = Math.sin(t), v = 1 - c;
        double[][] r = {
                {c + ax * ax * v, ax * ay * v - az * s, ax * az * v + ay * s},
                {ay * ax * v + az * s, c + ay * ay * v, ay * az * v - ax * s},
                {az * ax * v - ay * s, az * ay * v + ax * s, c + az * az * v}};
        double[] dir = new double[9];
        for (int col = 0; col < 3; col++) {
            for (int row = 0; row < 3; row++) {
                dir[3 * col + row] = r[row][col] * (improper && col == 2 ? -1 : 1);
            }
        }
        return new Geometry(new double[]{0.75, 1.25, 2.5}, new double[]{-100.25, 37.5, -12.125}, dir);
    }

    /** A random image of the type with values over most of the type's range. */
    static Image random(VoxelType type, int w, int h, int d, int ch, Geometry g, long seed) {
        ImageMetadata md = new ImageMetadata("NIfTI", "OT", ch == 3 ? "RGB" : "MONOCHROME2",
                type == VoxelType.FLOAT32 ? 32 : 8 * type.bytes(), type.signed(), 1, 0, Double.NaN, Double.NaN,
                null, null, null);
        Image img = Image.allocate(type, w, h, d, ch, g, md);
        Random rnd = new Random(seed);
        for (int i = 0; i < img.size(); i++) {
            double v = switch (type) {
                case FLOAT32 -> (rnd.nextDouble() - 0.3) * 2000.123;
                case INT32 -> rnd.nextInt();
                default -> type.min() + rnd.nextInt((int) (type.max() - type.min() + 1));
            };
            img.set(i, v);
        }
        return img;
    }

        /** The samples as little-endian bytes in memory order. */
    static byte[] bytesLE(Image img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            NiftiWriter.writeSamples(out, img.data(), img.type(), 0, img.size());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Sum of the samples, NaN skipped (as numpy nansum). */
    static double sum(Image img) {
        double s = 0;
        for (int i = 0; i < img.size(); i++) {
            double v = img.get(i);
            if (!Double.isNaN(v)) {
                s += v;
            }
        }
        return s;
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
