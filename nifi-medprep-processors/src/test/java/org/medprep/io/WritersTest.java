/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.testutil.Python;

/** NpyWriter checked with numpy.load, PngWriter with OpenCV imread, and OutputFormat. */
class WritersTest {

    @TempDir
    Path tmp;

    static byte[] bytes(OutputFormat f, Image img) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        f.write(img, out);
        return out.toByteArray();
    }

    @Test
    void npyLoadedByNumpyWithShapeDtypeAndValues() throws Exception {
        String[] dtypes = {"|u1", "|i1", "<u2", "<i2", "<i4", "<f4"};
        int n = 0;
        for (VoxelType type : VoxelType.values()) {
            for (int[] dims : new int[][]{{7, 5, 1, 1}, {7, 5, 4, 1}, {6, 3, 1, 3}, {6, 3, 2, 3}}) {
                Image img = TestImages.random(type, dims[0], dims[1], dims[2], dims[3], Geometry.UNIT, n);
                byte[] file = bytes(OutputFormat.NPY, img);
                int headerLen = TestImages.le(file).getShort(8) & 0xFFFF;
                assertEquals(0, (10 + headerLen) % 64, "header padded to 64");
                assertEquals('\n', file[10 + headerLen - 1]);
                Path f = tmp.resolve("a" + n++ + ".npy");
                Files.write(f, file);
                JsonNode ref = Python.json("npy_ref.py", f.toString());
                String shape = (dims[2] > 1 ? "[" + dims[2] + "," : "[") + dims[1] + "," + dims[0]
                        + (dims[3] > 1 ? "," + dims[3] : "") + "]";
                assertEquals(shape, ref.get("shape").toString(), type + " " + img);
                assertEquals(dtypes[type.ordinal()], ref.get("dtype").asText());
                assertEquals(false, ref.get("fortran").asBoolean());
                assertEquals(TestImages.sha256(TestImages.bytesLE(img)), ref.get("sha256").asText());
            }
        }
        System.out.println("npy: " + n + " files checked with numpy.load");
    }

    @Test
    void pngWrittenIsDecodedIdenticallyByOpenCvAndByPictureReader() throws Exception {
        Image[] images = {
                TestImages.random(VoxelType.UINT8, 67, 41, 1, 1, Geometry.UNIT, 1),
                TestImages.random(VoxelType.UINT16, 67, 41, 1, 1, Geometry.UNIT, 2),
                TestImages.random(VoxelType.UINT8, 33, 20, 1, 3, Geometry.UNIT, 3),
        };
        Image int16 = Image.allocate(VoxelType.INT16, 30, 20, 1, 1, Geometry.UNIT, images[0].metadata());
        for (int i = 0; i < int16.size(); i++) {
            int16.set(i, (i * 97) % 32768);
        }
        int k = 0;
        for (Image img : new Image[]{images[0], images[1], images[2], int16}) {
            byte[] png = bytes(OutputFormat.PNG, img);
            Path f = tmp.resolve("w" + k + ".png");
            Path raw = tmp.resolve("w" + k++ + ".raw");
            Files.write(f, png);
            JsonNode ref = Python.json("picture_ref.py", f.toString(), raw.toString());
            assertEquals(img.type().bytes() == 1 ? "uint8" : "uint16", ref.get("dtype").asText());
            assertEquals(img.height(), ref.get("shape").get(0).asInt());
            assertEquals(img.width(), ref.get("shape").get(1).asInt());
            assertArrayEquals(TestImages.bytesLE(img), Files.readAllBytes(raw), "cv2 values of " + img);
            Image back = ImageReaders.read(png, ReadLimits.DEFAULT).image();
            assertEquals(img.channels(), back.channels());
            assertArrayEquals(TestImages.bytesLE(img), TestImages.bytesLE(back), "PictureReader values of " + img);
        }
    }

    @Test
    void pngRejectsWhatItCannotHold() {
        Image f = TestImages.random(VoxelType.FLOAT32, 4, 4, 1, 1, Geometry.UNIT, 1);
        Image vol = TestImages.random(VoxelType.UINT8, 4, 4, 2, 1, Geometry.UNIT, 1);
        Image neg = TestImages.random(VoxelType.INT16, 4, 4, 1, 1, Geometry.UNIT, 1);
        neg.set(0, -5);
        Image big = TestImages.random(VoxelType.INT32, 4, 4, 1, 1, Geometry.UNIT, 1);
        big.set(0, 70000);
        for (Image img : new Image[]{f, vol, neg, big}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bytes(OutputFormat.PNG, img));
            assertTrue(e.getMessage().startsWith("PNG output needs"), e.getMessage());
        }
    }

    @Test
    void outputFormatNamesAndDispatch() throws Exception {
        assertEquals(".nii", OutputFormat.NIFTI.extension());
        assertEquals(".nii.gz", OutputFormat.NIFTI_GZ.extension());
        assertEquals("application/gzip", OutputFormat.NIFTI_GZ.mimeType());
        assertEquals(".npy", OutputFormat.NPY.extension());
        assertEquals("image/png", OutputFormat.PNG.mimeType());
        Image img = TestImages.random(VoxelType.UINT8, 5, 4, 1, 1, Geometry.UNIT, 4);
        assertEquals(ImageFormat.NIFTI, ImageFormat.sniff(bytes(OutputFormat.NIFTI, img)));
        assertEquals(ImageFormat.NIFTI_GZ, ImageFormat.sniff(bytes(OutputFormat.NIFTI_GZ, img)));
        assertEquals(ImageFormat.PNG, ImageFormat.sniff(bytes(OutputFormat.PNG, img)));
        assertEquals((byte) 0x93, bytes(OutputFormat.NPY, img)[0]);
    }
}
