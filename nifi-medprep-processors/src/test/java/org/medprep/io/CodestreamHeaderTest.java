/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.medprep.io.ImageReadException.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * The size a real file's codestream declares equals what pydicom reads from its DICOM header (Columns, Rows,
 * SamplesPerPixel, BitsStored), for JPEG baseline/extended, JPEG-LS and JPEG 2000 objects from pydicom's test data;
 * and the DICOM reader's checks of the codestream before any codec runs, on real objects with one field changed.
 */
class CodestreamHeaderTest {

    @ParameterizedTest
    @ValueSource(strings = {"JPEG-lossy.dcm", "JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jp2klossless.dcm",
            "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_small_odd_jpeg.dcm"})
    void firstCodestreamDeclaresTheDicomSize(String name) throws Exception {
        Path file = RealFiles.pydicom(name);
        byte[] b = Files.readAllBytes(file);
        JsonNode ref = Python.json("dicom_header_reference.py", file.toString());
        CodestreamHeader cs = null;
        for (int i = 132; i + 4 < b.length && cs == null; i++) {
            if ((b[i] & 0xFF) == 0xFF && ((b[i + 1] & 0xFF) == 0xD8 || (b[i + 1] & 0xFF) == 0x4F)) {
                cs = CodestreamHeader.read(b, i, b.length - i);
            }
        }
        assertNotNull(cs, "no codestream found in " + name);
        assertEquals(ref.get("Columns").asLong(), cs.width());
        assertEquals(ref.get("Rows").asLong(), cs.height());
        assertEquals(ref.get("SamplesPerPixel").asInt(), cs.components());
        assertEquals(ref.get("BitsStored").asInt(), cs.precision());
        assertEquals(1, cs.tiles());
    }

    private static int find(byte[] b, int from, int... bytes) {
        for (int i = from; i + bytes.length <= b.length; i++) {
            boolean match = true;
            for (int k = 0; k < bytes.length && match; k++) {
                match = (b[i + k] & 0xFF) == bytes[k];
            }
            if (match) {
                return i;
            }
        }
        throw new IllegalStateException("not found");
    }

    private static ImageReadException refused(byte[] b) {
        return assertThrows(ImageReadException.class, () -> ImageReaders.read(b, ReadLimits.DEFAULT));
    }

    @Test
    void aFrameHeaderSplitAcrossFragmentsIsReadAndTheFrameDecodesAsBefore() throws Exception {
        byte[] original = Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_dcmtk.dcm"));
        byte[] split = MemoryBombTest.splitFirstFragment(original, 4);
        assertEquals(original.length + 8, split.length);
        Object a = ImageReaders.read(original, ReadLimits.DEFAULT).image().data();
        Object b = ImageReaders.read(split, ReadLimits.DEFAULT).image().data();
        assertTrue(Arrays.equals((byte[]) a, (byte[]) b), "the split object decodes to the same pixels");
    }

    @Test
    void moreBitsThanBitsAllocatedIsCorrupt() throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_gdcm.dcm")); // lossless, BitsAllocated 8
        int sof = find(b, 132, 0xFF, 0xC3);
        assertEquals(8, b[sof + 4]);
        b[sof + 4] = 16;
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem());
        assertTrue(e.getMessage().matches("The JPEG codestream of frame 1 \\(JPEG Lossless.*\\) declares 16 bits per "
                + "sample; the DICOM header declares BitsAllocated 8, so the frame is not decoded\\."), e.getMessage());
    }

    @Test
    void aCodestreamWithoutFrameHeaderIsCorrupt() throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_dcmtk.dcm"));
        b[find(b, 132, 0xFF, 0xC0) + 1] = (byte) 0xEF; // SOF0 -> APP15: no frame header before the scan
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem());
        assertTrue(e.getMessage().startsWith("The codestream of frame 1 (JPEG Baseline (Process 1) "
                + "(1.2.840.10008.1.2.4.50)) has no frame header"), e.getMessage());
    }

    @Test
    void aFirstFragmentThatStartsNoCodestreamIsCorrupt() throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.pydicom("JPEG2000.dcm"));
        int soc = find(b, 132, 0xFF, 0x4F, 0xFF, 0x51);
        b[soc] = 0;
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem());
        assertEquals("The first compressed fragment (JPEG 2000 (1.2.840.10008.1.2.4.91)) does not start a JPEG or "
                + "JPEG 2000 codestream, so the pixel data is not decoded.", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 16, 256})
    void jpeg2000TileCountsAreChecked(int tile) throws Exception {
        byte[] b = MemoryBombTest.j2kTileSize(Files.readAllBytes(RealFiles.pydicom("JPEG2000.dcm")), tile, tile);
        CodestreamHeader cs = CodestreamHeader.read(b, find(b, 132, 0xFF, 0x4F, 0xFF, 0x51), b.length);
        long expected = tile == 0 ? 0 : (long) ((256 + tile - 1) / tile) * ((1024 + tile - 1) / tile);
        assertEquals(expected, cs.tiles());
        ImageReadException e = refused(b);
        if (expected >= 1 && expected <= CodestreamHeader.MAX_J2K_TILES) {
            // within the limit: the check lets it through, and the codec refuses a tile layout the data does not have
            assertTrue(e.getMessage().startsWith("The pixel data (JPEG 2000 (1.2.840.10008.1.2.4.91)) cannot be "
                    + "decoded"), e.getMessage());
            return;
        }
        assertEquals(Problem.CORRUPT, e.problem());
        assertTrue(e.getMessage().contains(tile == 0 ? "declares a tile size of 0" : "declares 262144 tiles"),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void bytesThatStartNoCodestreamGiveNull(int kind) {
        byte[] b = switch (kind) {
            case 0 -> new byte[0];
            case 1 -> new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9}; // SOI, EOI: no frame
            case 2 -> new byte[]{(byte) 0xFF, 0x4F, (byte) 0xFF, 0x51, 0, 41}; // SIZ cut short
            default -> new byte[]{0x12, 0x34, 0x56, 0x78, 0x00};
        };
        assertNull(CodestreamHeader.read(b, 0, b.length));
    }
}
