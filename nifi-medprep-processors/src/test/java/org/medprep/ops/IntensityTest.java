/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/** Normalizations against NumPy on the same real images (float64 reference, compared at float32 precision). */
class IntensityTest {

    @TempDir
    Path tmp;

    private static final Path CAMERA = RealFiles.skimage("camera.png");
    private static final Path CT = RealFiles.pydicom("CT_small.dcm");
    private static final Path CR = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154");

    @Test
    void scaleByBitDepthUsesBitsStored() throws Exception {
        compare(CAMERA, Intensity::scaleByBitDepth, "bitdepth", "8");
        compare(CR, Intensity::scaleByBitDepth, "bitdepth", "12");
        assertThrows(IllegalArgumentException.class, () -> Intensity.scaleByBitDepth(read(CT)));
    }

    @Test
    void minMaxZScoreAndPercentilesMatchNumpy() throws Exception {
        compare(CT, Intensity::minMax, "minmax");
        compare(CT, img -> Intensity.zScore(img, false), "zscore", "0");
        compare(CAMERA, img -> Intensity.zScore(img, true), "zscore", "1");
        compare(CAMERA, img -> Intensity.zScore(img, 0.482 * 255, 0.236 * 255), "zfixed",
                Double.toString(0.482 * 255), Double.toString(0.236 * 255));
        compare(CT, img -> Intensity.percentileClip(img, 0.5, 99.5), "percentile", "0.5", "99.5");
        compare(CAMERA, img -> Intensity.percentileClip(img, 2, 98), "percentile", "2", "98");
    }

    private static Image read(Path file) throws Exception {
        return ImageReaders.read(Files.readAllBytes(file), ReadLimits.DEFAULT).image();
    }

    private void compare(Path file, UnaryOperator<Image> op, String... refArgs) throws Exception {
        Image ours = op.apply(read(file));
        assertEquals(VoxelType.FLOAT32, ours.type());
        Path raw = tmp.resolve("ref.raw");
        String[] args = new String[refArgs.length + 2];
        args[0] = file.toString();
        args[1] = raw.toString();
        System.arraycopy(refArgs, 0, args, 2, refArgs.length);
        Python.json("intensity_reference.py", args);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(raw)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(ours.size() * 4, b.capacity());
        for (int i = 0; i < ours.size(); i++) {
            float r = b.getFloat(4 * i);
            assertEquals(r, ours.get(i), 2e-6 * Math.max(1, Math.abs(r)), file.getFileName() + " " + refArgs[0]
                    + " sample " + i);
        }
    }
}
