/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/** Metal voxels and 26-connected regions against SciPy's ndimage.label on real CT (thresholds chosen so that
 * 6- and 26-connectivity give different counts). */
class MetalDetectionTest {

    static final Path CT_SMALL = RealFiles.pydicom("CT_small.dcm");
    static final Path CT5N = RealFiles.pydicom("dicomdirtests/98892001/CT5N/2062").getParent();

    @Test
    void sliceEqualsScipy() throws Exception {
        Image ct = ImageReaders.read(Files.readAllBytes(CT_SMALL), ReadLimits.DEFAULT).image();
        // 400 HU: 10 regions 8-connected, 13 4-connected; 1000 HU: 12 voxels in 1 region.
        for (String threshold : List.of("400", "1000")) {
            compare(ct, CT_SMALL, threshold);
        }
    }

    @Test
    void seriesEqualsScipyIn3d() throws Exception {
        Image volume = ImageReaders.read(zip(CT5N), ReadLimits.DEFAULT).image();
        assertEquals(5, volume.depth());
        // 20 HU: 1 region 26-connected, 3 6-connected; 30 HU: 3 vs 6.
        for (String threshold : List.of("0", "20", "30")) {
            compare(volume, CT5N, threshold);
        }
    }

    private static void compare(Image image, Path reference, String threshold) throws Exception {
        JsonNode ref = Python.json("metal_reference.py", reference.toString(), threshold);
        MetalDetection.Result r = MetalDetection.detect(image, Double.parseDouble(threshold));
        String what = reference.getFileName() + " > " + threshold + " HU";
        assertEquals(ref.get("voxels").asLong(), r.voxels(), what);
        assertEquals(ref.get("regions").asInt(), r.regions(), what);
        assertEquals(ref.get("fraction").asDouble(), r.fraction(), what);
    }

    @Test
    void diagonalNeighboursAcrossSlicesAreOneRegion() {
        // 5 x 3 x 3 (x, y, z), HU = stored - 1024. Metal (> 3000 HU) at (z, y, x) = (0,0,0), (1,1,1), (2,2,2) and
        // (0,2,0): each touches (1,1,1) only by a corner, so 26-connectivity makes them one region (6-connectivity
        // would make four). (0,0,4) is at least two columns from all of them: a second region.
        Image im = Image.allocate(VoxelType.INT16, 5, 3, 3, 1, Geometry.UNIT,
                new ImageMetadata("DICOM", "CT", "MONOCHROME2", 16, true, 1, -1024, Double.NaN, Double.NaN, null,
                        null, null));
        int[][] metal = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {0, 2, 0}, {0, 0, 4}};
        for (int[] v : metal) {
            im.set(im.index(v[2], v[1], v[0], 0), 4100);
        }
        im.set(im.index(3, 0, 0, 0), 4024); // exactly 3000 HU: not metal (strictly greater)
        MetalDetection.Result r = MetalDetection.detect(im, MetalDetection.DEFAULT_THRESHOLD_HU);
        assertEquals(5, r.voxels());
        assertEquals(2, r.regions());
        assertEquals(5.0 / 45, r.fraction());
        assertEquals("severe", r.severity());
    }

    @Test
    void severityBands() {
        assertEquals("none", MetalDetection.severity(0, 0));
        assertEquals("slight", MetalDetection.severity(1, 0.0000999));
        assertEquals("moderate", MetalDetection.severity(1, 0.0001));
        assertEquals("moderate", MetalDetection.severity(1, 0.000999));
        assertEquals("severe", MetalDetection.severity(1, 0.001));
    }

    @Test
    void refusesColourAndNonFiniteThreshold() {
        Image rgb = Image.allocate(VoxelType.UINT8, 2, 1, 1, 3, Geometry.UNIT, ImageMetadata.picture("PNG", 8, "RGB"));
        assertThrows(IllegalArgumentException.class, () -> MetalDetection.detect(rgb, 3000));
        Image gray = Image.allocate(VoxelType.UINT8, 2, 1, 1, 1, Geometry.UNIT,
                ImageMetadata.picture("PNG", 8, "MONOCHROME2"));
        assertThrows(IllegalArgumentException.class, () -> MetalDetection.detect(gray, Double.NaN));
    }

    /** The folder's files as a ZIP of one series (entry names carry no order). */
    static byte[] zip(Path folder) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            for (int i = 0; i < files.size(); i++) {
                z.putNextEntry(new ZipEntry(i + ".dcm"));
                z.write(Files.readAllBytes(files.get(i)));
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }
}
