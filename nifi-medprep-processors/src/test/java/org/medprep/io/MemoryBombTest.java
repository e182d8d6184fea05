/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.testutil.RealFiles;

/**
 * Issue 9's ten memory bombs, a .nii.gz declaring 160 MiB over 64 bytes of data, and seven codestreams inside DICOM that lie about their size (SOF/SIZ of four real
 * objects set to 22000 × 22000, one also split across two fragments, one with DICOM Rows/Columns set too, one
 * JPEG 2000 of 1 × 1-pixel tiles), built from real files, each refused before allocation: {@link Probe} reads them
 * in a forked JVM with {@code -Xmx256m} (so {@link ReadLimits#availableBytes()} is 192 MiB) and prints, per
 * file, the problem, the reason and the milliseconds. Each must end as CORRUPT or TOO_LARGE with a reason
 * naming its numbers, in under 2 s, and no OutOfMemoryError may appear.
 */
class MemoryBombTest {

    /** Reasons: the declared numbers and, for memory, both sizes. */
    private static final Map<String, Pattern> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("jpeg-sof-22000x20000.jpg", Pattern.compile("TOO_LARGE\t.*22000 x 20000 = 440 M pixels.*"
                + "needs [0-9.]+ GB; this JVM can give 0\\.2\\d GB"));
        EXPECTED.put("tiff-22000x22000.tif", Pattern.compile("(TOO_LARGE|CORRUPT)\t.*22000.*"));
        EXPECTED.put("dicom-rle-22000x22000.dcm", Pattern.compile("(TOO_LARGE|CORRUPT)\t.*22000 x 22000.*"));
        EXPECTED.put("nifti-22000x22000-int16.nii", Pattern.compile(
                "CORRUPT\tThe NIfTI voxel data is truncated: .*22000 x 22000 x 1 .* = 968000000 bytes; the file holds 64\\."));
        EXPECTED.put("nifti-32767x15000-float64.nii", Pattern.compile(
                "CORRUPT\tThe NIfTI voxel data is truncated: .*32767 x 15000 x 1 .* the file holds 64\\."));
        EXPECTED.put("nifti-20000x20000-rgb.nii", Pattern.compile(
                "CORRUPT\tThe NIfTI voxel data is truncated: .*20000 x 20000 x 1 x 3 .* the file holds 64\\."));
        EXPECTED.put("nifti-22000x22000-int16.nii.gz", Pattern.compile(
                "TOO_LARGE\t.*22000 x 22000 = 484 M pixels; decoding needs 0\\.97 GB; this JVM can give 0\\.2\\d GB\\."));
        EXPECTED.put("nifti-1024x1024x80-int16-64-bytes.nii.gz", Pattern.compile("CORRUPT\tThe NIfTI voxel data is "
                + "truncated: the header declares 1024 x 1024 x 80 samples of 2 bytes = 167772160 bytes from offset "
                + "\\d+; the gzip stream inflates to \\d+ bytes\\."));
        EXPECTED.put("dicom-jpeg-sof-22000x22000.dcm", Pattern.compile("CORRUPT\tThe JPEG codestream of frame 1 \\(JPEG "
                + "Baseline.*\\) declares 22000 x 22000 pixels with 3 components; the DICOM header declares 100 x 100 with 3 .*"));
        EXPECTED.put("dicom-j2k-siz-22000x22000.dcm", Pattern.compile("CORRUPT\tThe JPEG 2000 codestream of frame 1 \\(JPEG 2000.*\\) "
                + "declares 22000 x 22000 pixels with 1 component; the DICOM header declares 256 x 1024 with 1 .*"));
        EXPECTED.put("dicom-jpeg-lossless-sof-22000x22000.dcm", Pattern.compile("CORRUPT\tThe JPEG codestream of "
                + "frame 1 \\(JPEG Lossless.*\\) declares 22000 x 22000 pixels with 3 components; the DICOM header "
                + "declares 100 x 100 with 3 .*"));
        EXPECTED.put("dicom-j2k-lossless-siz-22000x22000.dcm", Pattern.compile("CORRUPT\tThe JPEG 2000 codestream "
                + "of frame 1 \\(JPEG 2000 Lossless.*\\) declares 22000 x 22000 pixels with 1 component; the DICOM "
                + "header declares 64 x 64 with 1 .*"));
        EXPECTED.put("dicom-jpeg-split-sof-22000x22000.dcm", Pattern.compile("CORRUPT\tThe JPEG codestream of frame 1 "
                + "\\(JPEG Baseline.*\\) declares 22000 x 22000 pixels with 3 components; the DICOM header declares "
                + "100 x 100 with 3 .*"));
        EXPECTED.put("dicom-jpeg-22000x22000-both.dcm", Pattern.compile("TOO_LARGE\tThe header declares 22000 x 22000 "
                + "= 484 M pixels; the limit is 500 M|TOO_LARGE\tThe header declares 22000 x 22000 = 484 M pixels; "
                + "decoding needs [0-9.]+ GB; this JVM can give 0\\.2\\d GB\\."));
        EXPECTED.put("dicom-j2k-1x1-tiles.dcm", Pattern.compile("CORRUPT\tThe JPEG 2000 codestream of frame 1 .* "
                + "declares 262144 tiles; JPEG 2000 allows 1 to 65535, so the frame is not decoded\\."));
        EXPECTED.put("zip-1.5GiB-zeros.zip", Pattern.compile("TOO_LARGE\tThe ZIP archive inflates to more than 0\\.2\\d GB.*"));
        EXPECTED.put("zip-20-slices-4096.zip", Pattern.compile(
                "TOO_LARGE\tThe ZIP archive's first \\d DICOM slices declare 0\\.\\d+ GB of pixel data; decoding needs.*"));
        EXPECTED.put("zip-40-slices-4096.zip", Pattern.compile(
                "TOO_LARGE\tThe ZIP archive's first \\d DICOM slices declare 0\\.\\d+ GB of pixel data; decoding needs.*"));
    }

    @Test
    void theBombsAreRefusedBeforeAllocatingIn256MiB(@TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>();
        for (String name : EXPECTED.keySet()) {
            Files.write(dir.resolve(name), build(name));
            args.add(dir.resolve(name).toString());
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path") + File.pathSeparator
                        + System.getProperty("surefire.test.class.path", ""), Probe.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "timed out");
        System.out.print(text);
        assertEquals(0, p.exitValue(), "forked run failed:\n" + text);
        assertTrue(!text.contains("OutOfMemoryError"), text);
        for (Map.Entry<String, Pattern> e : EXPECTED.entrySet()) {
            String line = text.lines().filter(l -> l.startsWith(e.getKey() + "\t")).findFirst().orElse("");
            String[] f = line.split("\t", 3);
            assertEquals(3, f.length, "no result for " + e.getKey() + ":\n" + text);
            assertTrue(Long.parseLong(f[1]) < 2000, "took " + f[1] + " ms: " + line);
            assertTrue(e.getValue().matcher(f[2]).find(), e.getKey() + ": " + f[2]);
        }
    }

    /**
     * A .nii.gz holding all the 80 MiB its header declares (nibabel's anatomical.nii re-sized, its data repeated) is
     * counted before it is read and then read in full; the count costs one inflate, reported here with the read.
     */
    @Test
    void aCompleteLargeNiiGzIsCountedAndRead() throws Exception {
        long data = 1024L * 1024 * 40 * 2;
        assertTrue(data > NiftiReader.GZIP_COUNT_FIRST_BYTES);
        byte[] raw = nifti3d(1024, 1024, 40, 4, 16, data);
        byte[] gz = gzip(raw);
        long t0 = System.nanoTime();
        assertEquals(raw.length, NiftiReader.inflatedBytes(gz, Long.MAX_VALUE));
        long countMs = (System.nanoTime() - t0) / 1_000_000;
        t0 = System.nanoTime();
        short[] v = (short[]) ImageReaders.read(gz, ReadLimits.DEFAULT).image().data();
        long readMs = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("80 MiB .nii.gz (" + gz.length + " bytes): count " + countMs + " ms, read (count included) "
                + readMs + " ms");
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteBuffer.wrap(raw).getInt(0) == 348
                ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int off = (int) bb.getFloat(108);
        for (int i : new int[]{0, 1, 12345, v.length / 2, v.length - 1}) {
            assertEquals(bb.getShort(off + 2 * i), v[i], "voxel " + i);
        }
    }

    /** Reads each file given with {@link ImageReaders}; prints name, ms and "PROBLEM\treason" (or what went wrong). */
    public static final class Probe {
        public static void main(String[] files) throws IOException {
            for (String f : files) {
                byte[] content = Files.readAllBytes(Path.of(f));
                long t0 = System.nanoTime();
                String result;
                try {
                    ImageReaders.read(content, ReadLimits.DEFAULT);
                    result = "READ\t(no refusal)";
                } catch (ImageReadException e) {
                    result = e.problem() + "\t" + e.getMessage();
                } catch (Throwable e) {
                    result = "THROWN\t" + e;
                }
                content = null;
                System.out.println(Path.of(f).getFileName() + "\t" + (System.nanoTime() - t0) / 1_000_000 + "\t"
                        + result);
            }
        }
    }

    static byte[] build(String name) throws IOException {
        return switch (name) {
            case "jpeg-sof-22000x20000.jpg" -> jpegSize(Files.readAllBytes(RealFiles.skimage("retina.jpg")), 22000, 20000);
            case "tiff-22000x22000.tif" -> tiffSize(Files.readAllBytes(RealFiles.skimage("chessboard_GRAY_U16.tif")),
                    22000, 22000);
            case "dicom-rle-22000x22000.dcm" -> dicomRowsColumns(
                    Files.readAllBytes(RealFiles.pydicom("MR_small_RLE.dcm")), 22000, 22000);
            case "dicom-jpeg-sof-22000x22000.dcm" -> dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_dcmtk.dcm")), 22000, 22000);
            case "dicom-j2k-siz-22000x22000.dcm" -> dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("JPEG2000.dcm")), 22000, 22000);
            case "dicom-jpeg-lossless-sof-22000x22000.dcm" -> dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_gdcm.dcm")), 22000, 22000);
            case "dicom-j2k-lossless-siz-22000x22000.dcm" -> dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("MR_small_jp2klossless.dcm")), 22000, 22000);
            case "dicom-jpeg-split-sof-22000x22000.dcm" -> splitFirstFragment(dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_dcmtk.dcm")), 22000, 22000), 4);
            case "dicom-jpeg-22000x22000-both.dcm" -> dicomRowsColumns(dicomCodestreamSize(
                    Files.readAllBytes(RealFiles.pydicom("SC_rgb_jpeg_dcmtk.dcm")), 22000, 22000), 22000, 22000);
            case "dicom-j2k-1x1-tiles.dcm" -> j2kTileSize(Files.readAllBytes(RealFiles.pydicom("JPEG2000.dcm")), 1, 1);
            case "nifti-22000x22000-int16.nii" -> nifti(22000, 22000, 4, 16);
            case "nifti-32767x15000-float64.nii" -> nifti(32767, 15000, 64, 64);
            case "nifti-20000x20000-rgb.nii" -> nifti(20000, 20000, 128, 24);
            case "nifti-22000x22000-int16.nii.gz" -> gzip(nifti(22000, 22000, 4, 16));
            case "nifti-1024x1024x80-int16-64-bytes.nii.gz" -> gzip(nifti3d(1024, 1024, 80, 4, 16, 64));
            case "zip-1.5GiB-zeros.zip" -> zipOfZeros(3L << 29);
            case "zip-20-slices-4096.zip" -> zipOfSlices(20);
            case "zip-40-slices-4096.zip" -> zipOfSlices(40);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** The first SOF marker's height and width set. */
    static byte[] jpegSize(byte[] b, int width, int height) {
        b = b.clone();
        for (int i = 2; i + 9 < b.length; ) {
            int marker = b[i + 1] & 0xFF;
            int len = (b[i + 2] & 0xFF) << 8 | b[i + 3] & 0xFF;
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                ByteBuffer.wrap(b).putShort(i + 5, (short) height).putShort(i + 7, (short) width);
                return b;
            }
            i += 2 + len;
        }
        throw new IllegalStateException("no SOF");
    }

    /**
     * The codestream inside a DICOM's encapsulated pixel data resized in its own header, DICOM Rows/Columns left
     * alone: the first JPEG SOFn (height, width) or JPEG 2000 SIZ (Xsiz, Ysiz relative to the image offset).
     */
    static byte[] dicomCodestreamSize(byte[] b, int width, int height) {
        b = b.clone();
        for (int i = 132; i + 4 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xD8 && (b[i + 2] & 0xFF) == 0xFF) {
                byte[] jpeg = jpegSize(Arrays.copyOfRange(b, i, b.length), width, height);
                System.arraycopy(jpeg, 0, b, i, jpeg.length);
                return b;
            }
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0x4F && (b[i + 2] & 0xFF) == 0xFF
                    && (b[i + 3] & 0xFF) == 0x51) {
                ByteBuffer bb = ByteBuffer.wrap(b); // big-endian, as the codestream
                int siz = i + 4;
                bb.putInt(siz + 4, bb.getInt(siz + 12) + width).putInt(siz + 8, bb.getInt(siz + 16) + height);
                return b;
            }
        }
        throw new IllegalStateException("no JPEG or JPEG 2000 codestream");
    }

    /** The JPEG 2000 SIZ marker's tile size (XTsiz, YTsiz) set, inside a DICOM's encapsulated pixel data. */
    static byte[] j2kTileSize(byte[] b, int xt, int yt) {
        b = b.clone();
        for (int i = 132; i + 4 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0x4F && (b[i + 2] & 0xFF) == 0xFF
                    && (b[i + 3] & 0xFF) == 0x51) {
                ByteBuffer.wrap(b).putInt(i + 4 + 20, xt).putInt(i + 4 + 24, yt);
                return b;
            }
        }
        throw new IllegalStateException("no JPEG 2000 SIZ");
    }

    /**
     * The first fragment after the basic offset table of a DICOM's encapsulated Pixel Data (undefined length, at
     * the end of the file, explicit VR little endian) split in two items after its first {@code at} bytes (even),
     * so the codestream's frame header lies in the second fragment.
     */
    static byte[] splitFirstFragment(byte[] b, int at) {
        byte[] pd = {(byte) 0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, -1, -1, -1, -1};
        int p = -1;
        for (int i = 132; i + pd.length <= b.length; i++) {
            if (Arrays.equals(b, i, i + pd.length, pd, 0, pd.length)) {
                p = i + pd.length;
            }
        }
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int bot = p + 8 + bb.getInt(p + 4); // after the offset table item
        int len = bb.getInt(bot + 4);
        if (p < 0 || len <= at || at % 2 != 0) {
            throw new IllegalStateException("no fragment to split");
        }
        ByteBuffer out = ByteBuffer.allocate(b.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        out.put(b, 0, bot + 4).putInt(at).put(b, bot + 8, at);
        out.putShort((short) 0xFFFE).putShort((short) 0xE000).putInt(len - at);
        out.put(b, bot + 8 + at, b.length - (bot + 8 + at));
        return out.array();
    }

    /** ImageWidth (256) and ImageLength (257) of the first IFD set. */
    static byte[] tiffSize(byte[] b, int width, int height) {
        b = b.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(b[0] == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        int ifd = bb.getInt(4);
        int n = bb.getShort(ifd) & 0xFFFF;
        for (int k = 0; k < n; k++) {
            int e = ifd + 2 + 12 * k;
            int tag = bb.getShort(e) & 0xFFFF;
            if (tag == 256 || tag == 257) {
                int v = tag == 256 ? width : height;
                if (bb.getShort(e + 2) == 3) {
                    bb.putShort(e + 8, (short) v);
                } else {
                    bb.putInt(e + 8, v);
                }
            }
        }
        return b;
    }

    /** Rows (0028,0010) and Columns (0028,0011), explicit VR little endian US, set. */
    static byte[] dicomRowsColumns(byte[] b, int rows, int columns) {
        b = b.clone();
        setUs(b, 0x0010, rows);
        setUs(b, 0x0011, columns);
        return b;
    }

    private static void setUs(byte[] b, int element, int value) {
        byte[] tag = {0x28, 0x00, (byte) element, 0x00, 'U', 'S', 0x02, 0x00};
        for (int i = 132; i + 10 <= b.length; i++) {
            if (Arrays.equals(b, i, i + 8, tag, 0, 8)) {
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(i + 8, (short) value);
                return;
            }
        }
        throw new IllegalStateException("no (0028," + Integer.toHexString(element) + ")");
    }

    /** nibabel's anatomical.nii with a 2D size, datatype and bitpix set, followed by 64 bytes of its data. */
    static byte[] nifti(int nx, int ny, int datatype, int bitpix) throws IOException {
        byte[] a = Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii"));
        ByteBuffer bb = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (bb.getInt(0) != 348) {
            bb.order(ByteOrder.BIG_ENDIAN);
        }
        int off = (int) bb.getFloat(108);
        bb.putShort(40, (short) 2).putShort(42, (short) nx).putShort(44, (short) ny).putShort(46, (short) 1);
        bb.putShort(70, (short) datatype).putShort(72, (short) bitpix);
        return Arrays.copyOf(a, off + 64);
    }

    /**
     * nibabel's anatomical.nii with a 3D size, datatype and bitpix set, followed by {@code dataBytes} bytes: its own
     * voxel data repeated (real values, however many the size declares or fewer).
     */
    static byte[] nifti3d(int nx, int ny, int nz, int datatype, int bitpix, long dataBytes) throws IOException {
        byte[] a = Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii"));
        ByteBuffer bb = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (bb.getInt(0) != 348) {
            bb.order(ByteOrder.BIG_ENDIAN);
        }
        int off = (int) bb.getFloat(108);
        bb.putShort(40, (short) 3).putShort(42, (short) nx).putShort(44, (short) ny).putShort(46, (short) nz);
        bb.putShort(70, (short) datatype).putShort(72, (short) bitpix);
        byte[] out = Arrays.copyOf(a, Math.toIntExact(off + dataBytes));
        for (int i = off, k = off; i < out.length; i++, k = k + 1 < a.length ? k + 1 : off) {
            out[i] = a[k];
        }
        return out;
    }

    static byte[] gzip(byte[] b) throws IOException {
        var bos = new java.io.ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(bos)) {
            gz.write(b);
        }
        return bos.toByteArray();
    }

    static byte[] zipOfZeros(long bytes) throws IOException {
        var bos = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bos)) {
            zip.setLevel(Deflater.BEST_SPEED);
            zip.putNextEntry(new ZipEntry("zeros.dcm"));
            writeZeros(zip, bytes);
            zip.closeEntry();
        }
        return bos.toByteArray();
    }

    /** {@code n} copies of pydicom's CT_small.dcm as 4096 × 4096 16-bit slices of zeros. */
    static byte[] zipOfSlices(int n) throws IOException {
        byte[] ct = dicomRowsColumns(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")), 4096, 4096);
        byte[] pd = {(byte) 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0};
        int at = -1;
        for (int i = ct.length - 12; i >= 132; i--) {
            if (Arrays.equals(ct, i, i + 8, pd, 0, 8)) {
                at = i;
                break;
            }
        }
        if (at < 0) {
            throw new IllegalStateException("no Pixel Data");
        }
        byte[] head = Arrays.copyOf(ct, at + 12);
        long pixels = 4096L * 4096 * 2;
        ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 8, (int) pixels);
        var bos = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bos)) {
            zip.setLevel(Deflater.BEST_SPEED);
            for (int k = 0; k < n; k++) {
                zip.putNextEntry(new ZipEntry("slice" + k + ".dcm"));
                zip.write(head);
                writeZeros(zip, pixels);
                zip.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    private static void writeZeros(OutputStream out, long bytes) throws IOException {
        byte[] zeros = new byte[1 << 20];
        for (long done = 0; done < bytes; done += zeros.length) {
            out.write(zeros, 0, (int) Math.min(zeros.length, bytes - done));
        }
    }
}
