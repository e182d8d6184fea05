/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.DicomDictionary;
import com.pixelmed.dicom.DicomInputStream;
import com.pixelmed.dicom.OtherByteAttribute;
import com.pixelmed.dicom.OtherWordAttribute;
import com.pixelmed.dicom.SOPClassDescriptions;
import com.pixelmed.dicom.SequenceAttribute;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.ValueRepresentation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReadException.Problem;

/**
 * Reads one DICOM object (a Part 10 file with preamble and meta header, or a bare data set without them) into
 * an {@link Image}. Decoding by PixelMed (D. Clunie, BSD licence) + jai-imageio (JPEG baseline via the JDK,
 * lossless JPEG via pixelmed-imageio, JPEG 2000 via jai-imageio-jpeg2000); RLE Lossless by this class
 * (PS3.5 Annex G, PackBits segments), because PixelMed's RLE handles only 8-bit and 16-bit grayscale.
 *
 * <h2>Transfer syntaxes</h2>
 * Implicit VR LE, explicit VR LE and BE, deflated explicit VR LE, JPEG baseline (1.2.840.10008.1.2.4.50),
 * JPEG lossless (.57, .70), JPEG 2000 lossless and lossy (.90, .91), RLE Lossless (.5). Everything else —
 * JPEG-LS (.80/.81), 12-bit JPEG extended (.51), JPEG 2000 Part 2, HTJ2K, video — is UNSUPPORTED, and so is
 * JPEG 2000 pixel data wrapped in a JP2 file header instead of a bare codestream (non-conformant; jai-imageio
 * decodes pydicom's GDCMJ2K_TextGBR.dcm sample of it to wrong values).
 *
 * <h2>Shape and values</h2>
 * <ul>
 *   <li>width = Columns, height = Rows, depth = NumberOfFrames (1 when absent), channels = SamplesPerPixel
 *       (1 or 3, interleaved per voxel; PlanarConfiguration 1 is re-interleaved). Row 0 is the first DICOM
 *       row.</li>
 *   <li>Voxel type from BitsAllocated and PixelRepresentation: 8 → UINT8/INT8, 16 → UINT16/INT16,
 *       32 → INT32 (the 32 bits as stored; unsigned 32-bit values above 2^31 − 1 read negative, same bits);
 *       1 (bit-packed, e.g. segmentations) → UINT8 0/1.</li>
 *   <li>The image holds <b>stored values</b>: the same numbers as pydicom's {@code pixel_array}. No Modality
 *       LUT is applied (RescaleSlope/RescaleIntercept go to {@link ImageMetadata}) and <b>MONOCHROME1 is not
 *       inverted</b> (the photometric interpretation is recorded). Compressed signed data, which the codecs
 *       return as unsigned words holding BitsStored-wide two's-complement bits, is sign-extended from
 *       BitsStored. Native YBR_FULL_422 (two pixels share Cb, Cr) is expanded to three samples per pixel, as
 *       pydicom does.</li>
 *   <li>Colour JPEG: the JPEG codec converts YCbCr to RGB while decoding; the metadata then says
 *       photometric "RGB" (the values equal pydicom's {@code convert_color_space(YBR_FULL → RGB)} of its
 *       {@code pixel_array}).</li>
 * </ul>
 *
 * <h2>Geometry (LPS, mm)</h2>
 * <ul>
 *   <li>spacing x, y = PixelSpacing[1], PixelSpacing[0] (DICOM lists the row spacing first, i.e. the distance
 *       between rows = y); ImagerPixelSpacing when PixelSpacing is absent (CR/DX); else 1 mm.</li>
 *   <li>spacing z: multi-frame with per-frame ImagePositionPatient (enhanced objects) → distance of the first
 *       two frame positions along the slice normal; RT Dose GridFrameOffsetVector → its first step; otherwise
 *       SpacingBetweenSlices, else SliceThickness, else 1 mm (a single frame has no true slice spacing, so this
 *       value only gives the voxel a thickness).</li>
 *   <li>origin = ImagePositionPatient (of the first frame), 0 when absent; direction = ImageOrientationPatient
 *       row cosine (x), column cosine (y), their cross product (z, flipped when the frame positions run the
 *       other way); identity when absent.</li>
 * </ul>
 *
 * <h2>Header</h2>
 * Keyword → text for every top-level attribute that is neither a sequence nor binary (OB/OW/OF/OD/OL/OV/UN)
 * and has a standard keyword (private tags are left out), meta header included (TransferSyntaxUID is always
 * present), multiple values joined with '\'. It <b>contains patient identity</b>: see {@link DecodedImage}.
 *
 * <p>A File Meta Information Group Length (0002,0000) that disagrees with the meta elements present is read as
 * those elements ({@link DicomMetaGroup}), as pydicom reads it.
 *
 * <h2>Errors ({@link ImageReadException.Problem})</h2>
 * <ul>
 *   <li>TOO_LARGE: Rows × Columns × NumberOfFrames exceeds {@link ReadLimits}, or the decode's arrays
 *       ({@link Header#decodeBytesPerSample()}) exceed the memory this JVM can give; checked from a header read
 *       that stops at the Pixel Data tag, so nothing is allocated (checked even when Pixel Data is absent).</li>
 *   <li>NO_PIXEL_DATA: no Pixel Data element; the message names the SOP class, e.g. "The DICOM object has no
 *       Pixel Data (SOP class Basic Text SR)." (the UID when the class is unknown).</li>
 *   <li>UNSUPPORTED: a transfer syntax or encoding the codecs cannot decode, or a codec failure on a supported
 *       one; the message names the transfer syntax and its UID. Also SamplesPerPixel other than 1/3,
 *       BitsAllocated other than 1/8/16/32, Float Pixel Data.</li>
 *   <li>CORRUPT: unparsable data set; pixel data shorter than declared ("The pixel data is truncated: N of M bytes
 *       present"), a file cut inside compressed fragments, malformed RLE (an RLE segment too short to fill its
 *       frame is refused before the frame is allocated: PackBits expands at most 64 ×), header values out of
 *       {@link HeaderChecks}' rules (BitsStored, photometric vs SamplesPerPixel, PixelSpacing range, UIDs; a
 *       retired photometric interpretation is UNSUPPORTED); a JPEG or JPEG 2000 codestream whose own frame header
 *       (SOFn, SIZ; read by {@link CodestreamHeader} before any codec runs, also when split across fragments)
 *       declares another Columns × Rows or SamplesPerPixel, more bits than BitsAllocated, or more than 65535 tiles,
 *       and encapsulated data whose first fragment starts no codestream. A partial or zero-padded image is never
 *       returned.
 *       Parser and codec messages follow our sentence cleaned by {@link HeaderChecks#clean}.</li>
 * </ul>
 *
 * <p>Logging: PixelMed's java.util.logging fallback logger ("com.pixelmed") is switched off. PixelMed prints a
 * few parser notes (e.g. a guessed transfer syntax) to standard error directly; those cannot be silenced
 * without redirecting the JVM's stderr, which a library must not do.
 */
public final class DicomReader {

    /** Keeps PixelMed's fallback logger (java.util.logging) quiet; a strong reference so the level sticks. */
    private static final Logger PIXELMED_LOG = Logger.getLogger("com.pixelmed");

    static {
        PIXELMED_LOG.setLevel(Level.OFF);
    }

    /** Transfer syntaxes whose pixel data PixelMed + jai-imageio decode to the stored values. */
    private static final Set<String> DECODABLE = Set.of(
            "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
            "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.5");

    private static final Map<String, String> TS_NAMES = Map.ofEntries(
            Map.entry("1.2.840.10008.1.2", "Implicit VR Little Endian"),
            Map.entry("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
            Map.entry("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
            Map.entry("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
            Map.entry("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
            Map.entry("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
            Map.entry("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
            Map.entry("1.2.840.10008.1.2.4.70", "JPEG Lossless, First-Order Prediction (Process 14 SV1)"),
            Map.entry("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
            Map.entry("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
            Map.entry("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
            Map.entry("1.2.840.10008.1.2.4.91", "JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Lossless"),
            Map.entry("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
            Map.entry("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless"),
            Map.entry("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Lossless"),
            Map.entry("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.5", "RLE Lossless"));

    /** RT Dose (3004,000C): z offsets of the frames relative to ImagePositionPatient. */
    private static final AttributeTag GRID_FRAME_OFFSET_VECTOR = new AttributeTag(0x3004, 0x000C);

    private static final Set<String> BINARY_VRS = Set.of("OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ");

    private DicomReader() {
    }

    /**
     * Reads one DICOM object.
     *
     * @param content the whole file
     * @param limits  checked against Rows × Columns × NumberOfFrames before pixel data is decoded
     * @return the image (stored values, LPS geometry, DICOM metadata) and the header as keyword → text
     * @throws ImageReadException CORRUPT, TOO_LARGE, NO_PIXEL_DATA or UNSUPPORTED as described in the class
     *                            documentation
     */
    public static DecodedImage read(byte[] content, ReadLimits limits) throws ImageReadException {
        Header h = readHeader(content);
        h.checkDecodable(limits);
        return decode(content, h);
    }

    /** Display name and UID of a transfer syntax, e.g. "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)". */
    static String transferSyntaxName(String uid) {
        if (uid == null) {
            return "an unknown transfer syntax";
        }
        return TS_NAMES.getOrDefault(uid, "transfer syntax") + " (" + HeaderChecks.printable(uid) + ")";
    }

    /** The data set up to (not including) Pixel Data: enough to check sizes and sort slices. */
    static final class Header {
        final AttributeList list;
        final String transferSyntaxUid;
        final boolean bigEndian;
        final boolean explicitVr;
        /** Byte offset just after the Pixel Data element's tag (as PixelMed reports it), -1 when there is none. */
        final long pixelDataOffset;

        Header(AttributeList list, String transferSyntaxUid, boolean bigEndian, boolean explicitVr,
               long pixelDataOffset) {
            this.list = list;
            this.transferSyntaxUid = transferSyntaxUid;
            this.bigEndian = bigEndian;
            this.explicitVr = explicitVr;
            this.pixelDataOffset = pixelDataOffset;
        }

        boolean hasPixelData() {
            return pixelDataOffset >= 0;
        }

        int rows() {
            return Attribute.getSingleIntegerValueOrDefault(list, TagFromName.Rows, 0);
        }

        int columns() {
            return Attribute.getSingleIntegerValueOrDefault(list, TagFromName.Columns, 0);
        }

        int frames() {
            return Math.max(1, Attribute.getSingleIntegerValueOrDefault(list, TagFromName.NumberOfFrames, 1));
        }

        int samplesPerPixel() {
            return Math.max(1, Attribute.getSingleIntegerValueOrDefault(list, TagFromName.SamplesPerPixel, 1));
        }

        int bitsAllocated() {
            return Attribute.getSingleIntegerValueOrDefault(list, TagFromName.BitsAllocated, 0);
        }

        int bitsStored() {
            return Attribute.getSingleIntegerValueOrDefault(list, TagFromName.BitsStored, bitsAllocated());
        }

        boolean signed() {
            return Attribute.getSingleIntegerValueOrDefault(list, TagFromName.PixelRepresentation, 0) == 1;
        }

        String string(AttributeTag tag) {
            String s = Attribute.getSingleStringValueOrNull(list, tag);
            return s == null || s.isBlank() ? null : s.trim();
        }

        double[] doubles(AttributeTag tag) {
            Attribute a = list.get(tag);
            if (a == null) {
                return null;
            }
            try {
                return a.getDoubleValues();
            } catch (Exception e) {
                return null;
            }
        }

        /**
         * Bytes per sample of the arrays a decode holds at its peak: RLE an {@code int} accumulator plus the result;
         * otherwise PixelMed's value plus our copy.
         */
        long decodeBytesPerSample() {
            long stored = Math.max(1, bitsAllocated() / 8);
            return RLE.equals(transferSyntaxUid) ? 4 + stored : 2 * stored;
        }

        /** Sizes (TOO_LARGE), presence of Pixel Data, sample format and transfer syntax, in that order. */
        void checkDecodable(ReadLimits limits) throws ImageReadException {
            boolean declaresSize = rows() > 0 && columns() > 0;
            if (declaresSize || hasPixelData()) {
                limits.check(columns(), rows(), frames(), samplesPerPixel(), decodeBytesPerSample());
            }
            if (!hasPixelData()) {
                String sop = string(TagFromName.SOPClassUID);
                String what = sop == null ? "" : " (SOP class " + sopClassName(sop) + ")";
                if (list.get(TagFromName.FloatPixelData) != null) {
                    throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                            "The DICOM object holds Float Pixel Data" + what + ", which this reader does not decode.");
                }
                throw new ImageReadException(ImageReadException.Problem.NO_PIXEL_DATA,
                        "The DICOM object has no Pixel Data" + what + ".");
            }
            int spp = samplesPerPixel();
            if (spp != 1 && spp != 3) {
                throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                        "The DICOM object has " + spp + " samples per pixel; only 1 and 3 are supported.");
            }
            int bits = bitsAllocated();
            if (bits != 1 && bits != 8 && bits != 16 && bits != 32 || bits == 1 && spp != 1) {
                throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                        "The DICOM object has BitsAllocated " + bits + " with " + spp
                                + " samples per pixel; supported are 1 (grayscale), 8, 16 and 32.");
            }
            HeaderChecks.dicom(this);
            if (!DECODABLE.contains(transferSyntaxUid)) {
                throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                        "The pixel data is encoded in " + transferSyntaxName(transferSyntaxUid)
                                + ", which this build cannot decode.");
            }
        }
    }

    private static String sopClassName(String uid) {
        String d = SOPClassDescriptions.getDescriptionFromUID(uid);
        if (d == null || d.isBlank()) {
            return HeaderChecks.printable(uid);
        }
        return d.endsWith(" Storage") ? d.substring(0, d.length() - " Storage".length()) : d;
    }

    /** Reads the data set up to Pixel Data (not its value). */
    static Header readHeader(byte[] content) throws ImageReadException {
        AttributeList list = new AttributeList();
        long[] pixelOffset = {-1};
        DicomInputStream dis = null;
        try {
            dis = new DicomInputStream(DicomMetaGroup.open(content));
            list.read(dis, (l, tag, offset) -> {
                if (tag.equals(TagFromName.PixelData)) {
                    pixelOffset[0] = offset;
                    return true;
                }
                return false;
            });
        } catch (Exception | Error e) {
            rethrowVmError(e);
            String ts = null;
            try {
                ts = dis == null ? null : dis.getTransferSyntaxToReadDataSet().getUID();
            } catch (RuntimeException ignored) {
                // no transfer syntax known
            }
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The DICOM data set cannot be parsed" + (ts == null ? "" : " (" + transferSyntaxName(ts) + ")")
                            + ": " + oneLine(e) + ".", e);
        }
        var ts = dis.getTransferSyntaxToReadDataSet();
        if (ts == null) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The DICOM data set declares no usable transfer syntax.");
        }
        if (list.isEmpty()) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT, "The content holds no DICOM attributes.");
        }
        if (list.get(TagFromName.Rows) == null && pixelOffset[0] < 0 && list.size() < 2) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT, "The content is not a DICOM data set.");
        }
        return new Header(list, ts.getUID(), ts.isBigEndian(), ts.isExplicitVR(), pixelOffset[0]);
    }

    /**
     * A codec's own errors (e.g. an AssertionError or NoClassDefFoundError inside a decoder) describe the file; the
     * JVM's (out of memory, internal error) do not and are never turned into a reason. A stack overflow on a deeply
     * nested data set is the file's.
     */
    private static void rethrowVmError(Throwable e) {
        if (e instanceof VirtualMachineError vm && !(e instanceof StackOverflowError)) {
            throw vm;
        }
    }

    private static String oneLine(Throwable e) {
        String m = HeaderChecks.clean(e.getMessage());
        return m.isEmpty() ? "no detail given" : m;
    }

    /** Decodes the pixel data of an object whose header passed {@link Header#checkDecodable}. */
    static DecodedImage decode(byte[] content, Header h) throws ImageReadException {
        int rows = h.rows();
        int cols = h.columns();
        int frames = h.frames();
        int spp = h.samplesPerPixel();
        int bits = h.bitsAllocated();
        boolean encapsulated = !Set.of("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                "1.2.840.10008.1.2.1.99").contains(h.transferSyntaxUid);
        boolean ybr422 = !encapsulated && spp == 3 && bits == 8
                && "YBR_FULL_422".equals(h.string(TagFromName.PhotometricInterpretation));
        long samples = (long) rows * cols * frames * spp;
        long expectedBytes = bits == 1 ? (samples + 7) / 8 : ybr422 ? samples / 3 * 2 : samples * (bits / 8);
        if (!encapsulated && !h.transferSyntaxUid.equals("1.2.840.10008.1.2.1.99")) {
            checkNativeLength(content, h, expectedBytes);
        }
        List<long[]> fragments = encapsulated ? checkFragments(content, h) : null;
        if (fragments != null && fragments.size() > 1 && h.transferSyntaxUid.startsWith("1.2.840.10008.1.2.4.9")
                && startsWithJp2Signature(content, fragments.get(1)[0], fragments.get(1)[1])) {
            // DICOM requires a bare J2K codestream; jai-imageio mis-decodes such JP2/JPX-wrapped data (seen on
            // pydicom's GDCMJ2K_TextGBR.dcm: differences up to 108), so refuse rather than return wrong values.
            throw new ImageReadException(Problem.UNSUPPORTED, "The pixel data (" + transferSyntaxName(h.transferSyntaxUid)
                    + ") is a JP2 file instead of a bare JPEG 2000 codestream (non-conformant), which this build "
                    + "does not decode.");
        }
        if (fragments != null && h.transferSyntaxUid.startsWith("1.2.840.10008.1.2.4.")) {
            checkCodestreams(content, fragments, h);
        }
        if (RLE.equals(h.transferSyntaxUid)) {
            // Our own RLE decoder (PS3.5 Annex G): PixelMed's handles only 8-bit and 16-bit grayscale.
            Object data = decodeRle(content, fragments, h);
            Image image = new Image(VoxelType.forStored(bits, h.signed()), cols, rows, frames, spp, data, geometry(h),
                    metadata(h, h.list));
            return new DecodedImage(image, header(h.list, h.transferSyntaxUid));
        }

        AttributeList list = new AttributeList();
        try {
            DicomInputStream dis = new DicomInputStream(DicomMetaGroup.open(content));
            list.read(dis);
        } catch (Exception | Error e) {
            rethrowVmError(e);
            Problem p = encapsulated && !(e instanceof java.io.EOFException) ? Problem.UNSUPPORTED : Problem.CORRUPT;
            throw new ImageReadException(p, "The pixel data (" + transferSyntaxName(h.transferSyntaxUid)
                    + ") cannot be decoded: " + oneLine(e) + ".", e);
        }
        Attribute pd = list.getPixelData();
        if (pd == null) {
            // PixelMed logs and drops an element it cannot read completely (e.g. cut short).
            throw new ImageReadException(Problem.CORRUPT, "The pixel data (" + transferSyntaxName(h.transferSyntaxUid)
                    + ") is truncated or unreadable: pixel data truncated, fewer than the " + expectedBytes
                    + " bytes declared.");
        }
        int n = Math.toIntExact((long) rows * cols * frames * spp);
        boolean bigEndianWords = h.bigEndian && !encapsulated;
        Object data;
        try {
            data = switch (bits) {
                case 1 -> unpackBits(pd, n, bigEndianWords);
                case 8 -> ybr422 ? expandYbr422(toBytes(pd, (int) expectedBytes, bigEndianWords))
                        : toBytes(pd, n, bigEndianWords);
                case 16 -> toShorts(pd, n, bigEndianWords);
                default -> toInts(pd, n, bigEndianWords);
            };
        } catch (com.pixelmed.dicom.DicomException e) {
            throw new ImageReadException(Problem.CORRUPT, "The pixel data cannot be read: " + oneLine(e) + ".", e);
        }
        if (data == null) {
            throw new ImageReadException(Problem.CORRUPT, "The pixel data is truncated: " + pd.getVL() + " of "
                    + expectedBytes + " bytes (" + transferSyntaxName(h.transferSyntaxUid) + ").");
        }
        int planar = Attribute.getSingleIntegerValueOrDefault(list, TagFromName.PlanarConfiguration, 0);
        if (spp > 1 && planar == 1 && !(encapsulated && !"1.2.840.10008.1.2.5".equals(h.transferSyntaxUid))) {
            data = interleave(data, rows * cols, spp, frames);
        }
        boolean signed = h.signed();
        int bitsStored = h.bitsStored();
        if (encapsulated && signed && bitsStored < bits && bits <= 16) {
            signExtend(data, bitsStored);
        }
        VoxelType type = VoxelType.forStored(Math.max(8, bits), signed && bits > 1);
        ImageMetadata meta = metadata(h, list);
        if (encapsulated && spp == 3 && colourConverted(list)) {
            meta = meta.withPhotometric("RGB"); // the codec converted YCbCr to RGB: say what the values are
        }
        Image image = new Image(type, cols, rows, frames, spp, data, geometry(h), meta);
        return new DecodedImage(image, header(list, h.transferSyntaxUid));
    }

    /** For native (uncompressed, not deflated) data: the declared element length must fit in the content. */
    private static void checkNativeLength(byte[] content, Header h, long expectedBytes) throws ImageReadException {
        long off = h.pixelDataOffset - 4; // PixelMed reports the offset just after the tag
        long valueStart;
        long vl;
        if (h.explicitVr) {
            // tag (4) + VR (2) + reserved (2) + 32-bit length for OB/OW
            valueStart = off + 12;
            vl = valueStart <= content.length ? u32(content, (int) off + 8, h.bigEndian) : -1;
        } else {
            valueStart = off + 8;
            vl = valueStart <= content.length ? u32(content, (int) off + 4, h.bigEndian) : -1;
        }
        long available = Math.max(0, content.length - valueStart);
        if (vl == 0xFFFFFFFFL) {
            return; // undefined length on native data: let the parser decide
        }
        long present = Math.min(available, vl < 0 ? 0 : vl);
        if (vl < 0 || available < vl || present < expectedBytes) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT, "The pixel data is truncated: " + present
                    + " of " + expectedBytes + " bytes present (" + transferSyntaxName(h.transferSyntaxUid) + ").");
        }
    }

    /**
     * For encapsulated data: walks the items (FFFE,E000) of the Pixel Data value up to the sequence delimiter
     * (FFFE,E0DD), so a file cut inside a compressed fragment is reported as truncated rather than as a codec
     * failure.
     */
    private static List<long[]> checkFragments(byte[] content, Header h) throws ImageReadException {
        long pos = h.pixelDataOffset - 4 + 12; // tag, VR, reserved, undefined length
        int items = 0;
        List<long[]> out = new ArrayList<>();
        while (true) {
            if (pos + 8 > content.length) {
                throw new ImageReadException(Problem.CORRUPT, "The pixel data is truncated: the file ends after "
                        + items + " compressed fragment items, before the sequence delimiter ("
                        + transferSyntaxName(h.transferSyntaxUid) + ").");
            }
            int p = (int) pos;
            int group = (content[p] & 0xFF) | (content[p + 1] & 0xFF) << 8;
            int element = (content[p + 2] & 0xFF) | (content[p + 3] & 0xFF) << 8;
            long len = u32(content, p + 4, false);
            if (group == 0xFFFE && element == 0xE0DD) {
                return out;
            }
            if (group != 0xFFFE || element != 0xE000 || len == 0xFFFFFFFFL) {
                throw new ImageReadException(Problem.CORRUPT, "The encapsulated pixel data is malformed: item "
                        + (items + 1) + " is not a fragment (" + transferSyntaxName(h.transferSyntaxUid) + ").");
            }
            if (pos + 8 + len > content.length) {
                throw new ImageReadException(Problem.CORRUPT, "The pixel data is truncated: " + (content.length - pos - 8)
                        + " of " + len + " bytes of compressed fragment " + (items + 1) + " present ("
                        + transferSyntaxName(h.transferSyntaxUid) + ").");
            }
            out.add(new long[]{pos + 8, len});
            pos += 8 + len;
            items++;
        }
    }

    private static final String RLE = "1.2.840.10008.1.2.5";

    /** At most this many bytes of a frame's fragments are joined to find a frame header split across them. */
    private static final int MAX_HEADER_SEARCH = 1 << 20;

    /**
     * Before any codec runs: every fragment that starts a JPEG or JPEG 2000 codestream must declare the size the
     * DICOM header declares (Columns × Rows, SamplesPerPixel components, at most BitsAllocated bits per sample; a
     * JPEG 2000 codestream at most {@value CodestreamHeader#MAX_J2K_TILES} tiles), since the codec allocates from its
     * own header. Rows × Columns already passed the size and memory checks, so a frame that agrees is bounded too.
     * The first fragment after the offset table must start a codestream, and a frame header split across
     * fragments is read from the fragments joined (up to 1 MiB), so no frame reaches a codec unchecked.
     */
    private static void checkCodestreams(byte[] content, List<long[]> fragments, Header h) throws ImageReadException {
        String ts = transferSyntaxName(h.transferSyntaxUid);
        if (fragments.size() > 1 && !CodestreamHeader.starts(content, (int) fragments.get(1)[0],
                (int) fragments.get(1)[1])) {
            throw new ImageReadException(Problem.CORRUPT, "The first compressed fragment (" + ts + ") does not start"
                    + " a JPEG or JPEG 2000 codestream, so the pixel data is not decoded.");
        }
        int frame = 0;
        for (int i = 1; i < fragments.size(); i++) {
            int off = (int) fragments.get(i)[0];
            int len = (int) fragments.get(i)[1];
            if (!CodestreamHeader.starts(content, off, len)) {
                continue; // a continuation fragment of the frame before
            }
            frame++;
            CodestreamHeader cs = CodestreamHeader.read(content, off, len);
            if (cs == null) {
                cs = CodestreamHeader.read(joined(content, fragments, i), 0, Integer.MAX_VALUE);
            }
            if (cs == null) {
                throw new ImageReadException(Problem.CORRUPT, "The codestream of frame " + frame + " (" + ts
                        + ") has no frame header (JPEG SOFn or JPEG 2000 SIZ) before its data, so it is not decoded.");
            }
            boolean sizeDiffers = cs.width() != h.columns() || (cs.height() != 0 && cs.height() != h.rows());
            if (sizeDiffers || cs.components() != h.samplesPerPixel()) {
                throw new ImageReadException(Problem.CORRUPT, "The " + cs.codec() + " codestream of frame " + frame
                        + " (" + ts + ") declares " + cs.width() + " x " + cs.height() + " pixels with "
                        + cs.components() + (cs.components() == 1 ? " component" : " components")
                        + "; the DICOM header declares " + h.columns() + " x " + h.rows() + " with "
                        + h.samplesPerPixel() + " (Columns x Rows, SamplesPerPixel), so the frame is not decoded.");
            }
            if (cs.precision() > h.bitsAllocated()) {
                throw new ImageReadException(Problem.CORRUPT, "The " + cs.codec() + " codestream of frame " + frame
                        + " (" + ts + ") declares " + cs.precision() + " bits per sample; the DICOM header declares "
                        + "BitsAllocated " + h.bitsAllocated() + ", so the frame is not decoded.");
            }
            if (cs.tiles() < 1 || cs.tiles() > CodestreamHeader.MAX_J2K_TILES) {
                throw new ImageReadException(Problem.CORRUPT, "The " + cs.codec() + " codestream of frame " + frame
                        + " (" + ts + ") declares " + (cs.tiles() < 1 ? "a tile size of 0"
                        : cs.tiles() + " tiles") + "; JPEG 2000 allows 1 to " + CodestreamHeader.MAX_J2K_TILES
                        + ", so the frame is not decoded.");
            }
        }
    }

    /** Fragment {@code first} and the continuation fragments after it, joined, at most 1 MiB. */
    private static byte[] joined(byte[] content, List<long[]> fragments, int first) {
        var out = new java.io.ByteArrayOutputStream();
        for (int i = first; i < fragments.size() && out.size() < MAX_HEADER_SEARCH; i++) {
            int off = (int) fragments.get(i)[0];
            int len = (int) fragments.get(i)[1];
            if (i > first && CodestreamHeader.starts(content, off, len)) {
                break;
            }
            out.write(content, off, Math.min(len, MAX_HEADER_SEARCH - out.size()));
        }
        return out.toByteArray();
    }

    /** The JP2 signature box: length 12, type "jP  ", content 0D 0A 87 0A. */
    private static boolean startsWithJp2Signature(byte[] c, long offset, long length) {
        byte[] sig = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, (byte) 0x87, 0x0A};
        if (length < sig.length || offset + sig.length > c.length) {
            return false;
        }
        for (int i = 0; i < sig.length; i++) {
            if (c[(int) offset + i] != sig[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * DICOM RLE (PS3.5 Annex G): one fragment per frame after the basic offset table; each fragment has a
     * 64-byte header (segment count, 15 offsets) and one PackBits segment per byte of each sample, most
     * significant byte first, sample by sample. Output is interleaved per pixel, values as stored.
     */
    private static Object decodeRle(byte[] c, List<long[]> items, Header h) throws ImageReadException {
        int pixels = h.rows() * h.columns();
        int spp = h.samplesPerPixel();
        int frames = h.frames();
        int bytesPer = h.bitsAllocated() / 8;
        if (bytesPer < 1) {
            throw new ImageReadException(Problem.UNSUPPORTED, "RLE with BitsAllocated " + h.bitsAllocated()
                    + " is not supported (" + transferSyntaxName(RLE) + ").");
        }
        List<long[]> frags = items.isEmpty() ? items : items.subList(1, items.size()); // skip the offset table
        if (frags.size() != frames) {
            throw new ImageReadException(Problem.CORRUPT, "The RLE pixel data has " + frags.size()
                    + " fragments for " + frames + " frames (" + transferSyntaxName(RLE) + ").");
        }
        int segments = spp * bytesPer;
        // Every segment and its size first, before anything is allocated: PackBits expands 2 bytes into at most
        // 128, so a segment shorter than pixels / 64 bytes cannot fill its frame (a "bomb" declaring a huge frame
        // over small fragments is refused here).
        for (int f = 0; f < frames; f++) {
            int base = (int) frags.get(f)[0];
            int end = (int) (frags.get(f)[0] + frags.get(f)[1]);
            if (end - base < 64 || u32(c, base, false) != segments) {
                throw new ImageReadException(Problem.CORRUPT, "RLE frame " + (f + 1) + " does not hold " + segments
                        + " segments (" + transferSyntaxName(RLE) + ").");
            }
            for (int s = 0; s < segments; s++) {
                long from = base + u32(c, base + 4 + 4 * s, false);
                long to = s + 1 < segments ? base + u32(c, base + 8 + 4 * s, false) : end;
                if (from < base + 64 || to > end || to < from) {
                    throw new ImageReadException(Problem.CORRUPT, "RLE frame " + (f + 1) + " has a bad segment offset ("
                            + transferSyntaxName(RLE) + ").");
                }
                if ((to - from) * 64 < pixels) {
                    throw new ImageReadException(Problem.CORRUPT, "RLE frame " + (f + 1) + " segment " + (s + 1)
                            + " holds " + (to - from) + " bytes, which expand to at most " + (to - from) * 64
                            + "; the frame declares " + h.columns() + " x " + h.rows() + " = " + pixels
                            + " pixels (" + transferSyntaxName(RLE) + ").");
                }
            }
        }
        int[] acc = new int[Math.multiplyExact(pixels * spp, frames)];
        byte[] seg = new byte[pixels];
        for (int f = 0; f < frames; f++) {
            int base = (int) frags.get(f)[0];
            int end = (int) (frags.get(f)[0] + frags.get(f)[1]);
            for (int s = 0; s < segments; s++) {
                long from = base + u32(c, base + 4 + 4 * s, false);
                long to = s + 1 < segments ? base + u32(c, base + 8 + 4 * s, false) : end;
                unpackBitsSegment(c, (int) from, (int) to, seg, f + 1);
                int channel = s / bytesPer;
                int shift = 8 * (bytesPer - 1 - s % bytesPer);
                int o = f * pixels * spp + channel;
                for (int p = 0; p < pixels; p++, o += spp) {
                    acc[o] |= (seg[p] & 0xFF) << shift;
                }
            }
        }
        return switch (bytesPer) {
            case 1 -> {
                byte[] b = new byte[acc.length];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) acc[i];
                }
                yield b;
            }
            case 2 -> {
                short[] v = new short[acc.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (short) acc[i];
                }
                yield v;
            }
            default -> acc;
        };
    }

    /** PackBits: n ≥ 0 copies n+1 literal bytes, −127..−1 repeats the next byte 1−n times, −128 is a no-op. */
    private static void unpackBitsSegment(byte[] c, int from, int to, byte[] out, int frame) throws ImageReadException {
        int o = 0;
        int i = from;
        while (o < out.length && i < to) {
            int n = c[i++];
            if (n >= 0) {
                int cnt = Math.min(n + 1, out.length - o);
                if (i + cnt > to) {
                    break;
                }
                System.arraycopy(c, i, out, o, cnt);
                i += n + 1;
                o += cnt;
            } else if (n != -128) {
                if (i >= to) {
                    break;
                }
                int cnt = Math.min(1 - n, out.length - o);
                java.util.Arrays.fill(out, o, o + cnt, c[i++]);
                o += cnt;
            }
        }
        if (o < out.length) {
            throw new ImageReadException(Problem.CORRUPT, "RLE frame " + frame + ": a segment decodes to " + o
                    + " of " + out.length + " bytes (" + transferSyntaxName(RLE) + ").");
        }
    }

    private static long u32(byte[] b, int i, boolean bigEndian) {
        if (i + 4 > b.length) {
            return -1;
        }
        long b0 = b[i] & 0xFF;
        long b1 = b[i + 1] & 0xFF;
        long b2 = b[i + 2] & 0xFF;
        long b3 = b[i + 3] & 0xFF;
        return bigEndian ? b0 << 24 | b1 << 16 | b2 << 8 | b3 : b3 << 24 | b2 << 16 | b1 << 8 | b0;
    }

    /** The element's bytes in file order (OW words unpacked in the byte order they were read with). */
    private static byte[] rawBytes(Attribute pd, boolean bigEndianWords) throws com.pixelmed.dicom.DicomException {
        if (pd instanceof OtherWordAttribute) {
            short[] s = pd.getShortValues();
            byte[] b = new byte[s.length * 2];
            for (int i = 0; i < s.length; i++) {
                int v = s[i];
                if (bigEndianWords) {
                    b[2 * i] = (byte) (v >> 8);
                    b[2 * i + 1] = (byte) v;
                } else {
                    b[2 * i] = (byte) v;
                    b[2 * i + 1] = (byte) (v >> 8);
                }
            }
            return b;
        }
        return pd.getByteValues();
    }

    private static byte[] toBytes(Attribute pd, int n, boolean bigEndianWords) throws com.pixelmed.dicom.DicomException {
        byte[] b = rawBytes(pd, bigEndianWords);
        if (b == null || b.length < n) {
            return null;
        }
        return b.length == n ? b : java.util.Arrays.copyOf(b, n);
    }

    private static short[] toShorts(Attribute pd, int n, boolean bigEndian) throws com.pixelmed.dicom.DicomException {
        if (pd instanceof OtherWordAttribute) {
            short[] s = pd.getShortValues();
            if (s == null || s.length < n) {
                return null;
            }
            return s.length == n ? s : java.util.Arrays.copyOf(s, n);
        }
        byte[] b = pd.getByteValues();
        if (b == null || b.length < 2L * n) {
            return null;
        }
        short[] s = new short[n];
        for (int i = 0; i < n; i++) {
            int lo = b[2 * i + (bigEndian ? 1 : 0)] & 0xFF;
            int hi = b[2 * i + (bigEndian ? 0 : 1)] & 0xFF;
            s[i] = (short) (hi << 8 | lo);
        }
        return s;
    }

    private static int[] toInts(Attribute pd, int n, boolean bigEndian) throws com.pixelmed.dicom.DicomException {
        byte[] b = rawBytes(pd, bigEndian);
        if (b == null || b.length < 4L * n) {
            return null;
        }
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            int k = 4 * i;
            v[i] = bigEndian
                    ? (b[k] & 0xFF) << 24 | (b[k + 1] & 0xFF) << 16 | (b[k + 2] & 0xFF) << 8 | (b[k + 3] & 0xFF)
                    : (b[k + 3] & 0xFF) << 24 | (b[k + 2] & 0xFF) << 16 | (b[k + 1] & 0xFF) << 8 | (b[k] & 0xFF);
        }
        return v;
    }

    private static boolean colourConverted(AttributeList list) {
        try {
            return "RGB".equals(list.getDecompressedPhotometricInterpretation());
        } catch (Exception e) {
            return false;
        }
    }

    /** BitsAllocated 1: bits packed least significant first, continuous across frames → one byte per pixel. */
    private static byte[] unpackBits(Attribute pd, int n, boolean bigEndianWords)
            throws com.pixelmed.dicom.DicomException {
        byte[] b = rawBytes(pd, bigEndianWords);
        if (b == null || b.length < (n + 7) / 8) {
            return null;
        }
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) ((b[i >> 3] >> (i & 7)) & 1);
        }
        return out;
    }

    /** Native YBR_FULL_422: Y1 Y2 Cb Cr per pair of pixels → (Y1 Cb Cr)(Y2 Cb Cr), the stored values. */
    private static byte[] expandYbr422(byte[] b) {
        if (b == null) {
            return null;
        }
        byte[] out = new byte[b.length / 4 * 6];
        for (int i = 0, o = 0; i + 3 < b.length; i += 4, o += 6) {
            out[o] = b[i];
            out[o + 1] = b[i + 2];
            out[o + 2] = b[i + 3];
            out[o + 3] = b[i + 1];
            out[o + 4] = b[i + 2];
            out[o + 5] = b[i + 3];
        }
        return out;
    }

    /** PlanarConfiguration 1 (all R, then all G, then all B per frame) → interleaved RGBRGB... */
    private static Object interleave(Object data, int pixels, int spp, int frames) {
        int frameSize = pixels * spp;
        Object out = java.lang.reflect.Array.newInstance(data.getClass().getComponentType(), frameSize * frames);
        for (int f = 0; f < frames; f++) {
            int base = f * frameSize;
            for (int c = 0; c < spp; c++) {
                for (int p = 0; p < pixels; p++) {
                    java.lang.reflect.Array.set(out, base + p * spp + c,
                            java.lang.reflect.Array.get(data, base + c * pixels + p));
                }
            }
        }
        return out;
    }

    /** Reinterprets the low {@code bitsStored} bits of every sample as two's complement. */
    private static void signExtend(Object data, int bitsStored) {
        if (data instanceof short[] s) {
            int shift = 32 - bitsStored;
            for (int i = 0; i < s.length; i++) {
                s[i] = (short) ((s[i] & 0xFFFF) << shift >> shift);
            }
        } else if (data instanceof byte[] b) {
            int shift = 32 - bitsStored;
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) ((b[i] & 0xFF) << shift >> shift);
            }
        }
    }

    static ImageMetadata metadata(Header h, AttributeList list) {
        String modality = h.string(TagFromName.Modality);
        String photometric = h.string(TagFromName.PhotometricInterpretation);
        double slope = first(h.doubles(TagFromName.RescaleSlope), 1);
        double intercept = first(h.doubles(TagFromName.RescaleIntercept), 0);
        return new ImageMetadata("DICOM", modality == null ? "OT" : modality,
                photometric == null ? (h.samplesPerPixel() == 3 ? "RGB" : "MONOCHROME2") : photometric,
                h.bitsStored(), h.signed(), slope, intercept,
                first(h.doubles(TagFromName.WindowCenter), Double.NaN),
                first(h.doubles(TagFromName.WindowWidth), Double.NaN),
                h.string(TagFromName.StudyInstanceUID), h.string(TagFromName.SeriesInstanceUID), h.transferSyntaxUid);
    }

    private static double first(double[] v, double fallback) {
        return v != null && v.length > 0 && Double.isFinite(v[0]) ? v[0] : fallback;
    }

    /** Row cosine, column cosine and normal (row × column), or null when IOP is absent or unusable. */
    static double[][] orientation(double[] iop) {
        if (iop == null || iop.length != 6) {
            return null;
        }
        double[] x = {iop[0], iop[1], iop[2]};
        double[] y = {iop[3], iop[4], iop[5]};
        double nx = Math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
        double ny = Math.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]);
        if (!(nx > 0.5) || !(ny > 0.5)) {
            return null;
        }
        for (int i = 0; i < 3; i++) {
            x[i] /= nx;
            y[i] /= ny;
        }
        double[] z = cross(x, y);
        return new double[][]{x, y, z};
    }

    static double[] cross(double[] a, double[] b) {
        return new double[]{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    }

    static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }

    /** In-plane spacing {x, y}: PixelSpacing (row spacing = y first), ImagerPixelSpacing, else 1 mm. */
    static double[] inPlaneSpacing(AttributeList list) {
        double[] ps = positivePair(list.get(TagFromName.PixelSpacing));
        if (ps == null) {
            ps = positivePair(list.get(TagFromName.ImagerPixelSpacing));
        }
        return ps == null ? new double[]{1, 1} : new double[]{ps[1], ps[0]};
    }

    private static double[] positivePair(Attribute a) {
        if (a == null) {
            return null;
        }
        try {
            double[] v = a.getDoubleValues();
            return v != null && v.length >= 2 && v[0] > 0 && v[1] > 0 && Double.isFinite(v[0])
                    && Double.isFinite(v[1]) ? new double[]{v[0], v[1]} : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** SpacingBetweenSlices, else SliceThickness, else 1 mm. */
    static double declaredSliceSpacing(AttributeList list) {
        for (AttributeTag t : new AttributeTag[]{TagFromName.SpacingBetweenSlices, TagFromName.SliceThickness}) {
            double v = Attribute.getSingleDoubleValueOrDefault(list, t, Double.NaN);
            if (v > 0 && Double.isFinite(v)) {
                return v;
            }
        }
        return 1;
    }

    /**
     * The geometry from the header. Every spacing taken from it, wherever it comes from (PixelSpacing at the top or
     * in the shared PixelMeasuresSequence, the step between the first two frames' PlanePositionSequence, the
     * GridFrameOffsetVector's first step, SliceThickness/SpacingBetweenSlices), must pass
     * {@link HeaderChecks#spacing}, and the frame positions and offsets must be finite: CORRUPT otherwise.
     */
    private static Geometry geometry(Header h) throws ImageReadException {
        AttributeList list = h.list;
        double[] iop = h.doubles(TagFromName.ImageOrientationPatient);
        double[] ipp = h.doubles(TagFromName.ImagePositionPatient);
        double[] inPlane = inPlaneSpacing(list);
        String inPlaneSource = "DICOM PixelSpacing";
        double sliceSpacing = declaredSliceSpacing(list);
        String sliceSource = "DICOM SpacingBetweenSlices or SliceThickness";
        // Enhanced multi-frame objects keep geometry in functional groups: shared, or per frame (the first frame's
        // orientation and pixel measures then stand for all, as in Philips' enhanced MR).
        AttributeList shared = SequenceAttribute.getAttributeListFromWithinSequenceWithSingleItem(list,
                TagFromName.SharedFunctionalGroupsSequence);
        AttributeList firstFrame = null;
        if (list.get(TagFromName.PerFrameFunctionalGroupsSequence) instanceof SequenceAttribute frames
                && frames.getNumberOfItems() >= 1) {
            firstFrame = frames.getItem(0).getAttributeList();
        }
        double[][] perFramePositions = null;
        boolean topSpacing = list.get(TagFromName.PixelSpacing) != null;
        boolean topSlice = list.get(TagFromName.SpacingBetweenSlices) != null
                || list.get(TagFromName.SliceThickness) != null;
        for (AttributeList groups : new AttributeList[]{shared, firstFrame}) {
            if (groups == null) {
                continue;
            }
            String where = groups == shared ? "the shared" : "the first frame's";
            AttributeList orient = SequenceAttribute.getAttributeListFromWithinSequenceWithSingleItem(groups,
                    TagFromName.PlaneOrientationSequence);
            if (iop == null && orient != null) {
                iop = doubles(orient.get(TagFromName.ImageOrientationPatient));
            }
            AttributeList measures = SequenceAttribute.getAttributeListFromWithinSequenceWithSingleItem(groups,
                    TagFromName.PixelMeasuresSequence);
            if (measures != null) {
                double[] ps = positivePair(measures.get(TagFromName.PixelSpacing));
                if (ps != null && !topSpacing) {
                    inPlane = new double[]{ps[1], ps[0]};
                    inPlaneSource = "DICOM PixelSpacing of " + where + " PixelMeasuresSequence";
                    topSpacing = true;
                }
                if (!topSlice && (measures.get(TagFromName.SpacingBetweenSlices) != null
                        || measures.get(TagFromName.SliceThickness) != null)) {
                    sliceSpacing = declaredSliceSpacing(measures);
                    sliceSource = "DICOM SpacingBetweenSlices or SliceThickness of " + where + " PixelMeasuresSequence";
                    topSlice = true;
                }
            }
        }
        Attribute perFrame = list.get(TagFromName.PerFrameFunctionalGroupsSequence);
        if (perFrame instanceof SequenceAttribute seq && seq.getNumberOfItems() >= 1) {
            perFramePositions = new double[seq.getNumberOfItems()][];
            for (int i = 0; i < seq.getNumberOfItems(); i++) {
                AttributeList item = seq.getItem(i).getAttributeList();
                AttributeList pos = SequenceAttribute.getAttributeListFromWithinSequenceWithSingleItem(item,
                        TagFromName.PlanePositionSequence);
                double[] p = pos == null ? null : doubles(pos.get(TagFromName.ImagePositionPatient));
                if (p == null || p.length != 3) {
                    perFramePositions = null;
                    break;
                }
                if (!Double.isFinite(p[0]) || !Double.isFinite(p[1]) || !Double.isFinite(p[2])) {
                    throw new ImageReadException(Problem.CORRUPT, "The DICOM ImagePositionPatient of frame " + (i + 1)
                            + " (PlanePositionSequence) is not 3 finite numbers.");
                }
                perFramePositions[i] = p;
            }
        }
        double[][] axes = orientation(iop);
        if (axes == null) {
            axes = new double[][]{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        }
        double[] origin = ipp != null && ipp.length == 3 ? ipp.clone() : new double[3];
        if (perFramePositions != null) {
            origin = perFramePositions[0].clone();
            if (perFramePositions.length >= 2) {
                double[] d = new double[3];
                for (int i = 0; i < 3; i++) {
                    d[i] = perFramePositions[1][i] - perFramePositions[0][i];
                }
                double step = dot(d, axes[2]);
                if (Math.abs(step) > 1e-6) {
                    sliceSpacing = Math.abs(step);
                    sliceSource = "slice spacing from the first two frames' ImagePositionPatient";
                    if (step < 0) {
                        axes[2] = new double[]{-axes[2][0], -axes[2][1], -axes[2][2]};
                    }
                }
            }
        } else if (h.frames() > 1) {
            double[] gfov = h.doubles(GRID_FRAME_OFFSET_VECTOR);
            for (int i = 0; gfov != null && i < gfov.length; i++) {
                if (!Double.isFinite(gfov[i])) {
                    throw new ImageReadException(Problem.CORRUPT, "The DICOM GridFrameOffsetVector holds " + gfov[i]
                            + " at frame " + (i + 1) + "; the offsets must be finite numbers.");
                }
            }
            if (gfov != null && gfov.length >= 2 && Math.abs(gfov[1] - gfov[0]) > 1e-6) {
                double step = gfov[1] - gfov[0];
                sliceSpacing = Math.abs(step);
                sliceSource = "slice spacing from the DICOM GridFrameOffsetVector";
                if (step < 0) {
                    axes[2] = new double[]{-axes[2][0], -axes[2][1], -axes[2][2]};
                }
            }
        }
        HeaderChecks.spacing(inPlaneSource + " (column)", inPlane[0]);
        HeaderChecks.spacing(inPlaneSource + " (row)", inPlane[1]);
        HeaderChecks.spacing(sliceSource, sliceSpacing);
        return new Geometry(new double[]{inPlane[0], inPlane[1], sliceSpacing}, origin,
                new double[]{axes[0][0], axes[0][1], axes[0][2], axes[1][0], axes[1][1], axes[1][2],
                        axes[2][0], axes[2][1], axes[2][2]});
    }

    private static double[] doubles(Attribute a) {
        if (a == null) {
            return null;
        }
        try {
            return a.getDoubleValues();
        } catch (Exception e) {
            return null;
        }
    }

    /** Keyword → text of every top-level, non-sequence, non-binary attribute with a standard keyword. */
    static Map<String, String> header(AttributeList list, String transferSyntaxUid) {
        DicomDictionary dict = AttributeList.getDictionary();
        Map<String, String> out = new LinkedHashMap<>();
        for (Attribute a : list.values()) {
            AttributeTag tag = a.getTag();
            if (tag.isPrivate() || tag.equals(TagFromName.PixelData) || a instanceof SequenceAttribute
                    || a instanceof OtherByteAttribute || a instanceof OtherWordAttribute) {
                continue;
            }
            String vr = a.getVRAsString();
            if (vr == null || BINARY_VRS.contains(vr) || ValueRepresentation.isUnknownVR(a.getVR())) {
                continue;
            }
            String keyword = dict.getNameFromTag(tag);
            if (keyword == null || keyword.isBlank()) {
                continue;
            }
            String value = a.getDelimitedStringValuesOrEmptyString();
            out.put(keyword, value == null ? "" : value.trim());
        }
        out.putIfAbsent("TransferSyntaxUID", transferSyntaxUid);
        return out;
    }
}
