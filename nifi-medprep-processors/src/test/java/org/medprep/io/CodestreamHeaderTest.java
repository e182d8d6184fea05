/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * The size a real file's codestream declares equals what pydicom reads from its DICOM header (Columns, Rows,
 * SamplesPerPixel, BitsStored), for JPEG baseline/extended, JPEG-LS and JPEG 2000 objects from pydicom's test data.
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
