/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.ops.HounsfieldWindow.Output;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * HU clip and window against pydicom's Modality LUT + NumPy on real CT slices: clip and int16 bit for bit, [0, 1]
 * within float32 rounding.
 */
public class HounsfieldWindowTest {

    /** pydicom's CT_small.dcm: slope 1, intercept −1024, HU −896..1167. */
    static final Path CT_SMALL = RealFiles.pydicom("CT_small.dcm");
    /** A slice of pydicom's dicomdirtests CT series: slope 1, intercept −1024, HU −888..44. */
    static final Path CT5N = RealFiles.pydicom("dicomdirtests/98892001/CT5N/2062");

    @TempDir
    Path tmp;

    @Test
    void clipToRangeEqualsNumpyExactly() throws Exception {
        for (Path f : new Path[]{CT_SMALL, CT5N}) {
            compare(f, im -> HounsfieldWindow.clip(im, -1000, 1000, Output.HU_FLOAT32), true, "clip", "-1000",
                    "1000", "hu_f32");
            compare(f, im -> HounsfieldWindow.clip(im, -1000, 1000, Output.HU_INT16), true, "clip", "-1000",
                    "1000", "hu_i16");
            compare(f, im -> HounsfieldWindow.clip(im, -200, 400, Output.HU_INT16), true, "clip", "-200", "400",
                    "hu_i16");
            compare(f, im -> HounsfieldWindow.clip(im, -200, 3000, Output.UNIT_FLOAT32), false, "clip", "-200",
                    "3000", "unit");
        }
    }

    @Test
    void windowsEqualPs3LinearFunction() throws Exception {
        for (Path f : new Path[]{CT_SMALL, CT5N}) {
            compare(f, im -> HounsfieldWindow.window(im, 40, 80, Output.UNIT_FLOAT32), false, "window", "40", "80",
                    "unit");
            compare(f, im -> HounsfieldWindow.window(im, -600, 1500, Output.UNIT_FLOAT32), false, "window", "-600",
                    "1500", "unit");
            compare(f, im -> HounsfieldWindow.window(im, 300, 2000, Output.HU_FLOAT32), true, "window", "300",
                    "2000", "hu_f32");
            compare(f, im -> HounsfieldWindow.window(im, 50, 350, Output.HU_INT16), true, "window", "50", "350",
                    "hu_i16");
        }
    }

    @Test
    void stackedWindowsAreTheSingleWindowsAsChannels() throws Exception {
        Image ct = read(CT_SMALL);
        double[] centers = {40, 80, 300};
        double[] widths = {80, 200, 2000};
        for (Output output : Output.values()) {
            Image stack = HounsfieldWindow.stack(ct, centers, widths, output);
            assertEquals(3, stack.channels());
            assertEquals(ct.width(), stack.width());
            assertEquals(ct.height(), stack.height());
            for (int c = 0; c < 3; c++) {
                Image one = HounsfieldWindow.window(ct, centers[c], widths[c], output);
                assertEquals(one.type(), stack.type());
                for (int i = 0; i < one.size(); i++) {
                    assertEquals(one.get(i), stack.get(i * 3 + c), output + " channel " + c + " sample " + i);
                }
            }
            assertEquals(1, stack.metadata().rescaleSlope());
        }
        assertThrows(IllegalArgumentException.class,
                () -> HounsfieldWindow.stack(ct, new double[0], new double[0], Output.HU_FLOAT32));
        assertThrows(IllegalArgumentException.class,
                () -> HounsfieldWindow.stack(ct, new double[]{40, 50}, new double[]{80}, Output.HU_FLOAT32));
    }

    @Test
    void windowFunctionAtItsEdges() {
        // c = 40, w = 80: x <= 0 -> 0, x > 79 -> 1, else (x - 39.5) / 79 + 0.5 (PS3.3 C.11.2.1.2).
        Image in = synthetic(new short[]{-5, 0, 1, 39, 40, 78, 79, 80, 500}, 1, 0);
        Image out = HounsfieldWindow.window(in, 40, 80, Output.UNIT_FLOAT32);
        double[] expected = {0, 0, (1 - 39.5) / 79 + 0.5, (39 - 39.5) / 79 + 0.5, (40 - 39.5) / 79 + 0.5,
                (78 - 39.5) / 79 + 0.5, 1, 1, 1};
        for (int i = 0; i < expected.length; i++) {
            assertEquals((float) expected[i], (float) out.get(i), "sample " + i);
        }
        // HU output: clip to [c - w/2, c + w/2] = [0, 80], values keep their HU.
        Image hu = HounsfieldWindow.window(in, 40, 80, Output.HU_FLOAT32);
        double[] clipped = {0, 0, 1, 39, 40, 78, 79, 80, 80};
        for (int i = 0; i < clipped.length; i++) {
            assertEquals(clipped[i], hu.get(i), "sample " + i);
        }
    }

    @Test
    void modalityLutAndInt16RoundingHalfToEven() {
        // slope 0.5, intercept -1024.25: stored 2049 -> 0.25 -> 0; 2051 -> 1.25 -> 1; 2053 -> 2.25 -> 2;
        // stored 2 -> -1023.25 -> -1023; 3 -> -1022.75 -> -1023; 4000 -> 975.75 -> 976; 6000 -> 1975.75, clipped.
        Image in = synthetic(new short[]{2049, 2051, 2053, 2, 3, 4000, 6000}, 0.5, -1024.25);
        Image out = HounsfieldWindow.clip(in, -1023.5, 1000, Output.HU_INT16);
        assertEquals(VoxelType.INT16, out.type());
        double[] expected = {0, 1, 2, -1023, -1023, 976, 1000};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], out.get(i), "sample " + i);
        }
        // Half-way values go to the even integer, as NumPy's rint: 0.5 -> 0, 1.5 -> 2, -0.5 -> -0, -2.5 -> -2.
        Image halves = synthetic(new short[]{1, 3, -1, -5}, 0.5, 0);
        Image r = HounsfieldWindow.clip(halves, -10, 10, Output.HU_INT16);
        assertEquals(0, r.get(0));
        assertEquals(2, r.get(1));
        assertEquals(0, r.get(2));
        assertEquals(-2, r.get(3));
    }

    @Test
    void resultHasIdentityModalityLutAndItsBitDepth() {
        Image in = synthetic(new short[]{0, 100, 2000}, 1, -1024);
        ImageMetadata f = HounsfieldWindow.clip(in, -1000, 1000, Output.HU_FLOAT32).metadata();
        ImageMetadata s = HounsfieldWindow.clip(in, -1000, 1000, Output.HU_INT16).metadata();
        ImageMetadata u = HounsfieldWindow.window(in, 40, 80, Output.UNIT_FLOAT32).metadata();
        for (ImageMetadata m : new ImageMetadata[]{f, s, u}) {
            assertEquals(1, m.rescaleSlope());
            assertEquals(0, m.rescaleIntercept());
            assertTrue(Double.isNaN(m.windowCenter()));
            assertEquals("CT", m.modality());
        }
        assertEquals(32, f.bitsStored());
        assertTrue(f.signedPixels());
        assertEquals(16, s.bitsStored());
        assertTrue(s.signedPixels());
        assertEquals(32, u.bitsStored());
        assertFalse(u.signedPixels());
    }

    @Test
    void refusesBadRangesWindowsAndChannels() {
        Image in = synthetic(new short[]{0, 1}, 1, 0);
        assertThrows(IllegalArgumentException.class, () -> HounsfieldWindow.clip(in, 100, 100, Output.HU_FLOAT32));
        assertThrows(IllegalArgumentException.class, () -> HounsfieldWindow.clip(in, 100, -100, Output.HU_FLOAT32));
        assertThrows(IllegalArgumentException.class, () -> HounsfieldWindow.clip(in, -40000, 0, Output.HU_INT16));
        assertThrows(IllegalArgumentException.class, () -> HounsfieldWindow.window(in, 40, 0.5, Output.HU_FLOAT32));
        assertThrows(IllegalArgumentException.class,
                () -> HounsfieldWindow.window(in, 0, 70000, Output.HU_INT16));
        Image rgb = Image.allocate(VoxelType.UINT8, 2, 1, 1, 3, Geometry.UNIT,
                ImageMetadata.picture("PNG", 8, "RGB"));
        assertThrows(IllegalArgumentException.class, () -> HounsfieldWindow.clip(rgb, 0, 1, Output.HU_FLOAT32));
    }

    static Image synthetic(short[] stored, double slope, double intercept) {
        ImageMetadata m = new ImageMetadata("DICOM", "CT", "MONOCHROME2", 16, true, slope, intercept, 40, 400,
                null, null, null);
        Image im = Image.allocate(VoxelType.INT16, stored.length, 1, 1, 1, Geometry.UNIT, m);
        for (int i = 0; i < stored.length; i++) {
            im.set(i, stored[i]);
        }
        return im;
    }

    private static Image read(Path file) throws Exception {
        return ImageReaders.read(Files.readAllBytes(file), ReadLimits.DEFAULT).image();
    }

    private void compare(Path file, UnaryOperator<Image> op, boolean exact, String... refArgs) throws Exception {
        Image ours = op.apply(read(file));
        Path raw = tmp.resolve("ref.raw");
        String[] args = new String[refArgs.length + 2];
        args[0] = file.toString();
        args[1] = raw.toString();
        System.arraycopy(refArgs, 0, args, 2, refArgs.length);
        JsonNode info = Python.json("hu_reference.py", args);
        assertReference(ours, raw, info, exact, file.getFileName() + " " + String.join(" ", refArgs));
    }

    /**
     * {@code ours} equals the reference raw file: same dtype, shape and every sample (bit for bit when
     * {@code exact}, else within 1 float32 ulp). Also checks the reference is not trivially constant.
     */
    public static void assertReference(Image ours, Path raw, JsonNode info, boolean exact, String what)
            throws Exception {
        boolean int16 = "<i2".equals(info.get("dtype").asText());
        assertEquals(int16 ? VoxelType.INT16 : VoxelType.FLOAT32, ours.type(), what);
        assertEquals(ours.height(), info.get("shape").get(0).asInt(), what);
        assertEquals(ours.width(), info.get("shape").get(1).asInt(), what);
        assertTrue(info.get("max").asDouble() > info.get("min").asDouble(), "reference is constant: " + what);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(raw)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(ours.size() * (int16 ? 2 : 4), b.capacity(), what);
        for (int i = 0; i < ours.size(); i++) {
            if (int16) {
                assertEquals(b.getShort(2 * i), ours.get(i), what + " sample " + i);
            } else {
                float r = b.getFloat(4 * i);
                float o = (float) ours.get(i);
                if (exact) {
                    assertEquals(Float.floatToIntBits(r), Float.floatToIntBits(o), what + " sample " + i + ": "
                            + r + " vs " + o);
                } else {
                    assertEquals(r, o, Math.ulp(Math.max(Math.abs(r), Float.MIN_NORMAL)), what + " sample " + i);
                }
            }
        }
    }
}
