/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import com.pixelmed.dicom.TagFromName;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.io.ImageReadException.Problem;

/**
 * Reads a ZIP archive (as NiFi MergeContent writes it) holding the single-frame DICOM slices of <b>one</b>
 * series into one volume. Each slice is decoded by {@link DicomReader} (PixelMed + jai-imageio), so values are
 * stored values as described there (no Modality LUT applied, MONOCHROME1 not inverted).
 *
 * <h2>Entries</h2>
 * Directory entries, macOS metadata ({@code __MACOSX/} and {@code ._*}), entries that are not DICOM by content
 * (see {@link ImageFormat#sniff}) and DICOM objects without Pixel Data (e.g. a DICOMDIR) are ignored; every
 * other entry is a slice. Entry names and order do not matter. Entries are inflated with a running bound (the
 * largest Java array and {@link ReadLimits#availableBytes()}, TOO_LARGE beyond): each entry's first bytes are
 * sniffed and its DICOM header read, and the pixel bytes the slices declare so far are checked against the
 * memory this JVM can give before the rest of the entry is inflated, so a ZIP bomb cannot exhaust memory.
 *
 * <h2>Volume</h2>
 * <ul>
 *   <li>Slices are sorted by ImagePositionPatient projected on the slice normal n = row cosine × column
 *       cosine of ImageOrientationPatient, ascending: slice k+1 lies further along n than slice k — never by
 *       InstanceNumber or file order.</li>
 *   <li>Geometry (LPS, mm): x/y axes = row/column cosines, z axis = n (pointing from slice k to slice k+1);
 *       origin = ImagePositionPatient of the first sorted slice; spacing x, y from PixelSpacing as in
 *       {@link DicomReader}; spacing z = (last − first projected position) / (slices − 1), from positions
 *       only (SliceThickness and InstanceNumber are not used). A single-slice ZIP is read like a single file:
 *       spacing z = SpacingBetweenSlices, else SliceThickness, else 1 mm.</li>
 *   <li>Metadata and header come from the first sorted slice; the metadata format is "DICOM-ZIP".</li>
 * </ul>
 *
 * <h2>Errors</h2>
 * <ul>
 *   <li>TOO_LARGE: the sum of Rows × Columns over the slices exceeds {@link ReadLimits} — checked from the
 *       headers (read up to Pixel Data) before any pixel data is decoded.</li>
 *   <li>INCONSISTENT_SERIES: the slices do not form one regular volume. The message is one sentence naming the
 *       first problem found, in this order, and never patient data:
 *     <ol>
 *       <li>more than one SeriesInstanceUID; a multi-frame entry; differing Rows, Columns (mixed sizes),
 *           SamplesPerPixel, BitsAllocated or PixelRepresentation; differing RescaleSlope/RescaleIntercept (one
 *           Modality LUT must hold for the whole volume);</li>
 *       <li>differing ImageOrientationPatient (mixed orientations: any component more than
 *           {@value #ORIENTATION_TOLERANCE} apart); a missing ImagePositionPatient or ImageOrientationPatient;</li>
 *       <li><b>duplicate positions</b>: slices closer than {@value #DUPLICATE_TOLERANCE_MM} mm along the normal
 *           (the message says how many);</li>
 *       <li><b>gantry tilt or shift</b>: the positions do not advance along the slice normal — some
 *           ImagePositionPatient lies further than {@value #TILT_TOLERANCE_PIXELS} × the smaller in-plane pixel
 *           spacing from the line through the first position along n (the message gives the angle of the
 *           first-to-last direction off n, the largest offset, and GantryDetectorTilt when it is not 0). Such a
 *           volume is sheared: its voxels cannot be placed by an orthogonal affine (the NIfTI qform) without
 *           interpolation. dcm2niix resamples it to correct the tilt; this reader refuses it instead, because a
 *           reader that silently interpolates changes voxel values. Within the tolerance every voxel lies within
 *           half a pixel of where the affine puts it. A non-zero GantryDetectorTilt whose positions do advance
 *           along n (the tilt is in ImageOrientationPatient) is an ordinary, orthogonal volume and is read;</li>
 *       <li>irregular gaps, against the typical gap m = the lower median of the gaps between consecutive sorted
 *           positions, each gap allowed to differ by max({@value #SPACING_TOLERANCE_MM} mm,
 *           {@value #SPACING_TOLERANCE_RELATIVE} × m): a gap ≈ k × m for an integer k ≥ 2 means
 *           <b>k − 1 missing slices</b> ("1 slice missing between positions 1.263 and 6.263 mm along the slice
 *           normal (spacing 2.5 mm)", positions projected on n); any other gap is <b>non-uniform spacing</b> (it
 *           takes precedence: when the gaps are irregular, "missing" is not defined). The lower median, not the
 *           mean, because missing slices only make gaps larger. A series whose every other slice is missing has
 *           a regular spacing and cannot be told from a series acquired that way.</li>
 *     </ol></li>
 *   <li>CORRUPT: not a readable ZIP, or no DICOM image in it; an entry that looks like DICOM but cannot be
 *       parsed (it is not silently dropped: a missing slice would change the volume). Any slice error of
 *       {@link DicomReader} (CORRUPT, UNSUPPORTED, ...) is passed on with the entry or slice named by index,
 *       never by file name.</li>
 * </ul>
 */
public final class DicomSeriesZipReader {

    static final double ORIENTATION_TOLERANCE = 1e-4;
    static final double DUPLICATE_TOLERANCE_MM = 1e-3;
    static final double SPACING_TOLERANCE_MM = 0.01;
    static final double SPACING_TOLERANCE_RELATIVE = 0.01;
    static final double TILT_TOLERANCE_PIXELS = 0.5;
    /** (0018,1120) Gantry/Detector Tilt, degrees; not in PixelMed's TagFromName. */
    private static final com.pixelmed.dicom.AttributeTag GANTRY_DETECTOR_TILT = new com.pixelmed.dicom.AttributeTag(0x0018, 0x1120);

    private DicomSeriesZipReader() {
    }

    private record Slice(byte[] content, DicomReader.Header header, double[] position, double along) {
    }

    /**
     * Reads the series in a ZIP into one volume.
     *
     * @throws ImageReadException CORRUPT, TOO_LARGE, INCONSISTENT_SERIES, or a slice's UNSUPPORTED/CORRUPT, as
     *                            listed in the class documentation
     */
    public static DecodedImage read(byte[] content, ReadLimits limits) throws ImageReadException {
        List<byte[]> entries = entries(content);
        List<DicomReader.Header> headers = new ArrayList<>();
        List<byte[]> images = new ArrayList<>();
        int index = 0;
        for (byte[] e : entries) {
            index++;
            try {
                if (ImageFormat.sniff(e) != ImageFormat.DICOM) {
                    continue;
                }
            } catch (ImageReadException notAnImage) {
                continue; // not DICOM by content: ignored as documented
            }
            DicomReader.Header h;
            try {
                h = DicomReader.readHeader(e);
            } catch (ImageReadException ex) {
                throw new ImageReadException(ex.problem(), "ZIP entry " + index + ": " + ex.getMessage(), ex);
            }
            if (!h.hasPixelData()) {
                continue;
            }
            headers.add(h);
            images.add(e);
        }
        if (headers.isEmpty()) {
            throw new ImageReadException(Problem.CORRUPT, "The ZIP archive holds no DICOM image.");
        }
        for (DicomReader.Header h : headers) {
            h.checkDecodable(limits);
        }
        if (headers.size() == 1) {
            DecodedImage d = DicomReader.decode(images.get(0), headers.get(0));
            return new DecodedImage(d.image().withMetadata(d.image().metadata().withFormat("DICOM-ZIP")), d.header());
        }
        DicomReader.Header first = headers.get(0);
        checkSameValues(headers);
        limits.check(first.columns(), first.rows(), headers.size(), first.samplesPerPixel(),
                first.decodeBytesPerSample());

        double[] iop = first.doubles(TagFromName.ImageOrientationPatient);
        double[][] axes = DicomReader.orientation(iop);
        if (axes == null) {
            throw inconsistent("A slice has no usable ImageOrientationPatient, so the slices cannot be ordered.");
        }
        List<Slice> slices = new ArrayList<>();
        for (int i = 0; i < headers.size(); i++) {
            DicomReader.Header h = headers.get(i);
            double[] o = h.doubles(TagFromName.ImageOrientationPatient);
            if (o == null || o.length != 6) {
                throw inconsistent("A slice has no ImageOrientationPatient, so the slices cannot be ordered.");
            }
            for (int k = 0; k < 6; k++) {
                if (Math.abs(o[k] - iop[k]) > ORIENTATION_TOLERANCE) {
                    throw inconsistent("The slices have different ImageOrientationPatient (mixed orientations).");
                }
            }
            double[] p = h.doubles(TagFromName.ImagePositionPatient);
            if (p == null || p.length != 3) {
                throw inconsistent("A slice has no ImagePositionPatient, so the slices cannot be ordered.");
            }
            slices.add(new Slice(images.get(i), h, p, DicomReader.dot(p, axes[2])));
        }
        slices.sort(Comparator.comparingDouble(Slice::along));
        int n = slices.size();
        checkDuplicates(slices);
        checkAlongNormal(slices, axes[2], DicomReader.inPlaneSpacing(first.list), first);
        double spacing = checkSpacing(slices);
        HeaderChecks.spacing("slice spacing of the series (from ImagePositionPatient)", spacing);

        // Decode, in position order, into one volume.
        int rows = first.rows();
        int cols = first.columns();
        int spp = first.samplesPerPixel();
        int sliceSamples = rows * cols * spp;
        Object volume = null;
        DecodedImage firstDecoded = null;
        for (int i = 0; i < n; i++) {
            DecodedImage d;
            try {
                d = DicomReader.decode(slices.get(i).content, slices.get(i).header);
            } catch (ImageReadException e) {
                throw new ImageReadException(e.problem(), "Slice " + (i + 1) + " of " + n + ": " + e.getMessage(), e);
            }
            Image im = d.image();
            if (firstDecoded == null) {
                firstDecoded = d;
                volume = java.lang.reflect.Array.newInstance(im.data().getClass().getComponentType(),
                        Math.multiplyExact(sliceSamples, n));
            } else if (im.type() != firstDecoded.image().type()) {
                throw inconsistent("The slices decode to different voxel types (" + firstDecoded.image().type()
                        + " and " + im.type() + ").");
            }
            System.arraycopy(im.data(), 0, volume, i * sliceSamples, sliceSamples);
        }
        Image f = firstDecoded.image();
        double[] inPlane = DicomReader.inPlaneSpacing(slices.get(0).header.list);
        double[] z = axes[2];
        Geometry g = new Geometry(new double[]{inPlane[0], inPlane[1], spacing}, slices.get(0).position,
                new double[]{axes[0][0], axes[0][1], axes[0][2], axes[1][0], axes[1][1], axes[1][2], z[0], z[1], z[2]});
        Image image = new Image(f.type(), cols, rows, n, spp, volume, g, f.metadata().withFormat("DICOM-ZIP"));
        return new DecodedImage(image, firstDecoded.header());
    }

    /** Duplicate positions: two sorted slices closer than {@link #DUPLICATE_TOLERANCE_MM} along the normal. */
    private static void checkDuplicates(List<Slice> slices) throws ImageReadException {
        int duplicates = 0;
        for (int i = 0; i + 1 < slices.size(); i++) {
            if (slices.get(i + 1).along - slices.get(i).along < DUPLICATE_TOLERANCE_MM) {
                duplicates++;
            }
        }
        if (duplicates > 0) {
            throw inconsistent("In the series, " + duplicates + (duplicates == 1 ? " slice lies" : " slices lie")
                    + " at the same "
                    + "position along the slice normal as another slice (duplicate slices; " + slices.size()
                    + " slices in the ZIP archive).");
        }
    }

    /**
     * Gantry tilt (or any in-plane shift): every position must lie on the line through the first position along
     * the normal n, within half the smaller in-plane pixel spacing ({@value #TILT_TOLERANCE_PIXELS} pixel).
     */
    private static void checkAlongNormal(List<Slice> slices, double[] n, double[] inPlane, DicomReader.Header first)
            throws ImageReadException {
        double[] p0 = slices.get(0).position;
        double worst = 0;
        for (Slice s : slices) {
            worst = Math.max(worst, inPlaneOffset(s.position, p0, n));
        }
        double tolerance = TILT_TOLERANCE_PIXELS * Math.min(inPlane[0], inPlane[1]);
        if (worst <= tolerance) {
            return;
        }
        Slice last = slices.get(slices.size() - 1);
        double angle = Math.toDegrees(Math.atan2(inPlaneOffset(last.position, p0, n), last.along - slices.get(0).along));
        double[] tag = first.doubles(GANTRY_DETECTOR_TILT);
        String declared = tag != null && tag.length > 0 && tag[0] != 0
                ? "; GantryDetectorTilt " + fmt(tag[0]) + " degrees" : "";
        throw inconsistent("The slice positions do not advance along the slice normal (gantry tilt or shift: "
                + "first-to-last direction " + fmt(angle) + " degrees off the normal, slices up to " + mm(worst)
                + " mm off in-plane" + declared + "); a sheared volume cannot be stored without resampling.");
    }

    /** Distance of p from the line through p0 along the unit vector n. */
    private static double inPlaneOffset(double[] p, double[] p0, double[] n) {
        double[] d = {p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]};
        double a = DicomReader.dot(d, n);
        double x = d[0] - a * n[0];
        double y = d[1] - a * n[1];
        double z = d[2] - a * n[2];
        return Math.sqrt(x * x + y * y + z * z);
    }

    /**
     * Gaps between sorted positions against the typical gap m (the lower median): each gap within
     * {@link #gapTolerance} of m is regular; a gap within it of k × m for an integer k ≥ 2 hides k − 1 missing
     * slices; any other gap is non-uniform spacing (reported first, since then "missing" is not well defined).
     *
     * @return the slice spacing (last − first) / (slices − 1) of a regular series
     */
    private static double checkSpacing(List<Slice> slices) throws ImageReadException {
        int n = slices.size();
        double[] gaps = new double[n - 1];
        for (int i = 0; i + 1 < n; i++) {
            gaps[i] = slices.get(i + 1).along - slices.get(i).along;
        }
        double[] sorted = gaps.clone();
        Arrays.sort(sorted);
        double m = sorted[(sorted.length - 1) / 2];
        double tol = gapTolerance(m);
        int missing = 0;
        List<String> where = new ArrayList<>();
        boolean irregular = false;
        for (int i = 0; i < gaps.length; i++) {
            if (Math.abs(gaps[i] - m) <= tol) {
                continue;
            }
            long k = Math.round(gaps[i] / m);
            if (k >= 2 && Math.abs(gaps[i] - k * m) <= tol) {
                missing += (int) (k - 1);
                where.add((k - 1) + " between positions " + mm(slices.get(i).along) + " and "
                        + mm(slices.get(i + 1).along) + " mm");
            } else {
                irregular = true;
            }
        }
        if (irregular) {
            throw inconsistent("The slice spacing is non-uniform: gaps of " + mm(sorted[0]) + " to "
                    + mm(sorted[sorted.length - 1]) + " mm between positions along the slice normal.");
        }
        if (missing > 0) {
            String s = missing == 1 ? "1 slice" : missing + " slices";
            if (where.size() == 1) {
                throw inconsistent("The series has " + s + " missing " + where.get(0).substring(where.get(0).indexOf("between"))
                        + " along the slice normal (spacing " + mm(m) + " mm).");
            }
            String list = String.join(", ", where.subList(0, Math.min(3, where.size())))
                    + (where.size() > 3 ? " and " + (where.size() - 3) + " more gaps" : "");
            throw inconsistent("The series has " + s + " missing along the slice normal (spacing " + mm(m) + " mm): " + list + ".");
        }
        return (slices.get(n - 1).along - slices.get(0).along) / (n - 1);
    }

    /** How far a gap may differ from the typical gap (or a multiple of it): the larger of 0.01 mm and 1 %. */
    private static double gapTolerance(double typical) {
        return Math.max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_RELATIVE * typical);
    }

    private static void checkSameValues(List<DicomReader.Header> headers) throws ImageReadException {
        DicomReader.Header a = headers.get(0);
        for (DicomReader.Header b : headers) {
            if (!Objects.equals(a.string(TagFromName.SeriesInstanceUID), b.string(TagFromName.SeriesInstanceUID))) {
                throw inconsistent("The ZIP archive holds slices of more than one series (different SeriesInstanceUID).");
            }
            if (b.frames() != 1) {
                throw inconsistent("An entry is a multi-frame object (" + b.frames()
                        + " frames); a series ZIP must hold single-frame slices.");
            }
            if (a.rows() != b.rows() || a.columns() != b.columns()) {
                throw inconsistent("The slices have different sizes (" + a.columns() + " x " + a.rows() + " and "
                        + b.columns() + " x " + b.rows() + ").");
            }
            if (a.samplesPerPixel() != b.samplesPerPixel() || a.bitsAllocated() != b.bitsAllocated()
                    || a.signed() != b.signed()) {
                throw inconsistent("The slices have different pixel types (SamplesPerPixel, BitsAllocated or "
                        + "PixelRepresentation differ).");
            }
            if (!sameNumber(a, b, TagFromName.RescaleSlope, 1) || !sameNumber(a, b, TagFromName.RescaleIntercept, 0)) {
                throw inconsistent("The slices have different RescaleSlope/RescaleIntercept, so no single "
                        + "Modality LUT holds for the volume.");
            }
        }
    }

    private static boolean sameNumber(DicomReader.Header a, DicomReader.Header b, com.pixelmed.dicom.AttributeTag t,
                                      double fallback) {
        double[] x = a.doubles(t);
        double[] y = b.doubles(t);
        double u = x == null || x.length == 0 ? fallback : x[0];
        double v = y == null || y.length == 0 ? fallback : y[0];
        return Math.abs(u - v) <= 1e-9 * Math.max(1, Math.abs(u));
    }

    private static ImageReadException inconsistent(String message) {
        return new ImageReadException(Problem.INCONSISTENT_SERIES, message);
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.3g", v);
    }

    /** Millimetres with at most three decimals, trailing zeros dropped (8.76251 → 8.763, 2.500 → 2.5). */
    private static String mm(double v) {
        return java.math.BigDecimal.valueOf(v).setScale(3, java.math.RoundingMode.HALF_UP).stripTrailingZeros()
                .toPlainString();
    }

    /** Bytes of an entry inflated first, to sniff it and read its DICOM header before inflating the rest. */
    static final int PREFIX_BYTES = 256 * 1024;

    /**
     * The uncompressed bytes of every file entry that may be a slice, inflated with a running bound: each entry's
     * first {@value #PREFIX_BYTES} bytes are sniffed and, for DICOM, its header is read and its declared pixel
     * bytes added to what the series needs (entries held plus the volume, 2 × the declared bytes) — checked
     * against {@link ReadLimits#availableBytes()} <em>before</em> the rest is inflated. All inflated bytes, kept
     * or skipped, stop at the same bound, so neither a ZIP bomb nor a series too big for this JVM is inflated.
     */
    private static List<byte[]> entries(byte[] content) throws ImageReadException {
        List<byte[]> out = new ArrayList<>();
        long budget = Math.min(Image.MAX_SAMPLES, ReadLimits.availableBytes());
        long inflated = 0;
        long needed = 0;
        int slices = 0;
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(content))) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                String name = e.getName();
                String base = name.substring(name.lastIndexOf('/') + 1);
                if (e.isDirectory() || name.startsWith("__MACOSX/") || name.contains("/__MACOSX/")
                        || base.startsWith("._")) {
                    continue;
                }
                byte[] prefix = zip.readNBytes(PREFIX_BYTES);
                inflated += prefix.length;
                boolean dicom;
                try {
                    dicom = ImageFormat.sniff(prefix) == ImageFormat.DICOM;
                } catch (ImageReadException notAnImage) {
                    dicom = false;
                }
                if (!dicom) {
                    inflated += skipBounded(zip, budget - inflated, budget);
                    continue;
                }
                long declared = declaredPixelBytes(prefix);
                if (declared > 0) {
                    slices++;
                    needed += 2 * declared;
                    ReadLimits.checkMemory(needed, "The ZIP archive's first " + slices
                            + " DICOM slices declare " + ReadLimits.gb(needed / 2) + " of pixel data");
                }
                byte[] b = readRest(zip, prefix, budget - inflated, budget, declared, out.size() + 1);
                inflated += b.length - prefix.length;
                out.add(b);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new ImageReadException(Problem.CORRUPT, "The ZIP archive cannot be read"
                    + (HeaderChecks.clean(e.getMessage()).isEmpty() ? "" : ": " + HeaderChecks.clean(e.getMessage())) + ".", e);
        }
        return out;
    }

    /** Rows × Columns × frames × samples × bytes per sample from a header in {@code prefix}, or 0 when unknown. */
    private static long declaredPixelBytes(byte[] prefix) {
        try {
            DicomReader.Header h = DicomReader.readHeader(prefix);
            if (!h.hasPixelData() || h.rows() < 1 || h.columns() < 1) {
                return 0;
            }
            return (long) h.rows() * h.columns() * h.frames() * h.samplesPerPixel()
                    * Math.max(1, h.bitsAllocated() / 8);
        } catch (ImageReadException | RuntimeException e) {
            return 0; // the header does not fit in the prefix, or is damaged: the full read will say
        }
    }

    private static long skipBounded(InputStream in, long max, long budget) throws IOException, ImageReadException {
        byte[] buf = new byte[65536];
        long n = 0;
        int r;
        while ((r = in.read(buf)) > 0) {
            n += r;
            if (n > max) {
                throw tooMuch(budget);
            }
        }
        return n;
    }

    /**
     * {@code prefix} followed by the rest of the entry, at most {@code max} more bytes. A slice whose header
     * declared its pixel bytes may hold at most {@link #entrySlack} more than that (its header, compressed data a
     * little larger than raw, trailing padding); one that did not may take half of {@code max}, so the buffer's
     * copy while it grows stays within the budget too.
     */
    private static byte[] readRest(InputStream in, byte[] prefix, long max, long budget, long declared, int slice)
            throws IOException, ImageReadException {
        if (prefix.length < PREFIX_BYTES) {
            return prefix; // the whole entry
        }
        long entryMax = declared > 0 ? declared + entrySlack(declared) : max / 2;
        if (entryMax < max) {
            max = entryMax;
            budget = -1;
        }
        // sized from the declared pixel bytes, so a native slice is not copied while the buffer doubles
        ByteArrayOutputStream bos = new ByteArrayOutputStream(
                (int) Math.min(Math.min(max, Integer.MAX_VALUE - 8), Math.max(prefix.length, declared + 4096)));
        bos.write(prefix);
        byte[] buf = new byte[65536];
        long n = 0;
        int r;
        while ((r = in.read(buf)) > 0) {
            n += r;
            if (n > max) {
                if (budget < 0) {
                    throw new ImageReadException(Problem.CORRUPT, "The ZIP archive's DICOM entry " + slice
                            + " inflates to more than " + ReadLimits.gb(prefix.length + max) + (declared > 0
                            ? ", far more than the " + ReadLimits.gb(declared) + " of pixel data its header declares."
                            : ", and its header does not say how much pixel data it holds."));
                }
                throw tooMuch(budget);
            }
            bos.write(buf, 0, r);
        }
        return bos.toByteArray();
    }

    /** What a slice may hold beyond its declared pixel bytes: 1/8 of them plus 1 MiB. */
    private static long entrySlack(long declared) {
        return declared / 8 + (1 << 20);
    }

    private static ImageReadException tooMuch(long budget) {
        return new ImageReadException(Problem.TOO_LARGE, "The ZIP archive inflates to more than "
                + ReadLimits.gb(budget) + ", what this JVM can give one series.");
    }
}
