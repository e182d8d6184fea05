/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.NiftiReader;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;

/**
 * {@link Reorient} against nibabel ({@code as_closest_canonical} for RAS, {@code as_reoriented} with
 * {@code ornt_transform(io_orientation(affine), axcodes2ornt('LPS'))} for LPS) run by
 * src/test/python/reorient_reference.py on nibabel's real anatomical.nii (LAS), a permuted and flipped copy and
 * an oblique (20° / 10°) permuted copy: voxel arrays equal, affines equal, corner voxels keep their world
 * position and value.
 */
class ReorientTest {

    static Stream<Arguments> cases() {
        return Stream.of("original", "permuted", "oblique").flatMap(v -> Stream.of(
                Arguments.of(v, Reorient.Target.RAS), Arguments.of(v, Reorient.Target.LPS)));
    }

    @ParameterizedTest(name = "anatomical.nii {0} to {1}")
    @MethodSource("cases")
    void realNiftiMatchesNibabel(String variant, Reorient.Target target, @TempDir Path tmp) throws Exception {
        Path file = ResampleTest.ANATOMICAL;
        if (!variant.equals("original")) {
            file = tmp.resolve(variant + ".nii");
            Python.run("reorient_reference.py", "make", ResampleTest.ANATOMICAL.toString(), variant,
                    file.toString());
        }
        Image in = NiftiReader.read(Files.readAllBytes(file), ReadLimits.DEFAULT).image();
        Path raw = tmp.resolve("ref.raw");
        JsonNode ref = Python.json("reorient_reference.py", "orient", file.toString(), target.name(),
                raw.toString());
        Image out = Reorient.apply(in, target);

        assertEquals(in.type(), out.type());
        assertEquals(ref.get("shape").get(0).asInt(), out.depth());
        assertEquals(ref.get("shape").get(1).asInt(), out.height());
        assertEquals(ref.get("shape").get(2).asInt(), out.width());
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(raw)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8L * out.size(), b.capacity());
        for (int i = 0; i < out.size(); i++) {
            double e = b.getDouble();
            if (e != out.get(i)) {
                throw new AssertionError("voxel " + i + ": nibabel " + e + ", got " + out.get(i));
            }
        }
        double[][] lps = out.geometry().affineLps();
        for (int r = 0; r < 3; r++) {
            double sign = r < 2 ? -1 : 1;
            for (int c = 0; c < 4; c++) {
                assertEquals(ref.get("affine").get(r).get(c).asDouble(), sign * lps[r][c], 1e-4,
                        "RAS affine [" + r + "][" + c + "]");
            }
        }
        String codes = ref.get("codes").get(0).asText() + ref.get("codes").get(1).asText()
                + ref.get("codes").get(2).asText();
        assertEquals(target.name(), codes, "nibabel's axis codes of the result");
        assertCornersKeepWorldPositionAndValue(in, out);
    }

    @Test
    void pictureWithIdentityDirection() {
        float[] v = {1, 2, 3, 4, 5, 6};
        Image in = new Image(VoxelType.FLOAT32, 3, 2, 1, 1, v, new Geometry(new double[]{0.5, 2, 1},
                new double[]{10, 20, 30}, new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1}),
                ImageMetadata.picture("test", 32, "MONOCHROME2"));
        assertSame(in, Reorient.apply(in, Reorient.Target.LPS));
        Image ras = Reorient.apply(in, Reorient.Target.RAS);
        assertTrue(Reorient.plan(in.geometry(), Reorient.Target.RAS).flip()[0]);
        assertArrayEquals(new float[]{6, 5, 4, 3, 2, 1}, (float[]) ras.data());
        assertArrayEquals(new double[]{11, 22, 30}, ras.geometry().origin(), 1e-12);
        assertArrayEquals(new double[]{-1, 0, 0, 0, -1, 0, 0, 0, 1}, ras.geometry().direction(), 0);
        assertCornersKeepWorldPositionAndValue(in, ras);
    }

    @Test
    void permutedMultiChannelVolume() {
        // axes: x along S, y along L, z along -P; 2 channels
        int w = 4;
        int h = 3;
        int d = 2;
        float[] v = new float[w * h * d * 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        Image in = new Image(VoxelType.FLOAT32, w, h, d, 2, v, new Geometry(new double[]{1, 2, 3},
                new double[]{5, 6, 7}, new double[]{0, 0, 1, 1, 0, 0, 0, -1, 0}),
                ImageMetadata.picture("test", 32, "MONOCHROME2"));
        Reorient.Plan p = Reorient.plan(in.geometry(), Reorient.Target.LPS);
        assertArrayEquals(new int[]{1, 2, 0}, p.inputAxis());
        Image out = Reorient.apply(in, Reorient.Target.LPS);
        assertEquals(3, out.width());
        assertEquals(2, out.height());
        assertEquals(4, out.depth());
        assertArrayEquals(new double[]{2, 3, 1}, out.geometry().spacing(), 0);
        assertArrayEquals(new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1}, out.geometry().direction(), 0);
        assertCornersKeepWorldPositionAndValue(in, out);
    }

    /** Every corner voxel of {@code out} lies at the world position of a corner voxel of {@code in}, same value. */
    static void assertCornersKeepWorldPositionAndValue(Image in, Image out) {
        for (int corner = 0; corner < 8; corner++) {
            int x = (corner & 1) == 0 ? 0 : out.width() - 1;
            int y = (corner & 2) == 0 ? 0 : out.height() - 1;
            int z = (corner & 4) == 0 ? 0 : out.depth() - 1;
            double[] w = world(out.geometry(), x, y, z);
            boolean found = false;
            for (int k = 0; k < 8 && !found; k++) {
                int xi = (k & 1) == 0 ? 0 : in.width() - 1;
                int yi = (k & 2) == 0 ? 0 : in.height() - 1;
                int zi = (k & 4) == 0 ? 0 : in.depth() - 1;
                double[] wi = world(in.geometry(), xi, yi, zi);
                if (Math.abs(wi[0] - w[0]) < 1e-6 && Math.abs(wi[1] - w[1]) < 1e-6 && Math.abs(wi[2] - w[2]) < 1e-6) {
                    found = true;
                    for (int c = 0; c < in.channels(); c++) {
                        assertEquals(in.get(in.index(xi, yi, zi, c)), out.get(out.index(x, y, z, c)), 0,
                                "corner value");
                    }
                }
            }
            assertTrue(found, "output corner " + x + "," + y + "," + z + " is at no input corner's world position");
        }
    }

    static double[] world(Geometry g, int i, int j, int k) {
        double[][] m = g.affineLps();
        double[] w = new double[3];
        for (int r = 0; r < 3; r++) {
            w[r] = m[r][0] * i + m[r][1] * j + m[r][2] * k + m[r][3];
        }
        return w;
    }
}
