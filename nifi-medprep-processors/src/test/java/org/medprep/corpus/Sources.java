/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.medprep.corpus.Source.Format;
import org.medprep.testutil.RealFiles;

/**
 * The real files the corpus is made from: small ones of every supported format, from the Debian packages
 * ./medprep test installs (python3-pydicom, python3-skimage, python3-nibabel). None is downscaled or written by us;
 * the only things assembled here are a series ZIP (real CT slices of one series, zipped as MergeContent does), a
 * .nii.gz (a real .nii gzipped) and two JPEG files (the JPEG codestream a real DICOM file encapsulates).
 */
public final class Sources {

    /** DICOM single files: uncompressed CT/MR (explicit, implicit, big endian), RLE, JPEG, J2K, multi-frame. */
    static final List<String> DICOM = List.of("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm",
            "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm",
            "MR_small_jp2klossless.dcm", "SC_rgb_rle_2frame.dcm");
    /**
     * Series folders of real CT slices (pydicom's DICOMDIR test tree). CT5N is the one regular stack there: CT2,
     * CT2N, MR1, MR2 and MR700 mix series, orientations or leave gaps, so they are not series a reader accepts.
     */
    static final List<String> SERIES = List.of("dicomdirtests/98892001/CT5N");

    private static volatile Sources instance;

    private final List<Source> all = new ArrayList<>();
    private final Map<String, List<byte[]>> slices = new LinkedHashMap<>();

    private Sources() {
        for (String name : DICOM) {
            add(name, Format.DICOM, "pydicom test file", read(RealFiles.pydicom(name)));
        }
        add("rocket.jpg", Format.JPEG, "skimage sample", read(RealFiles.skimage("rocket.jpg")));
        for (String dcm : List.of("SC_rgb_jpeg_dcmtk.dcm", "SC_jpeg_no_color_transform.dcm")) {
            add(dcm.replace(".dcm", ".jpg"), Format.JPEG, "the JPEG codestream of pydicom's " + dcm,
                    firstFragment(read(RealFiles.pydicom(dcm))));
        }
        for (String png : List.of("microaneurysms.png", "phantom.png", "horse.png", "palette_color.png")) {
            add(png, Format.PNG, "skimage sample", read(RealFiles.skimage(png)));
        }
        for (String tif : List.of("multipage.tif", "multipage_rgb.tif", "chessboard_GRAY_U16B.tif")) {
            add(tif, Format.TIFF, "skimage sample", read(RealFiles.skimage(tif)));
        }
        for (String nii : List.of("anatomical.nii", "resampled_anat_moved.nii", "reoriented_anat_moved.nii")) {
            add(nii, Format.NIFTI, "nibabel test data", read(RealFiles.nibabel("tests/data/" + nii)));
        }
        add("standard.nii.gz", Format.NIFTI_GZ, "nibabel test data",
                read(RealFiles.nibabel("tests/data/standard.nii.gz")));
        add("anatomical.nii.gz", Format.NIFTI_GZ, "nibabel's anatomical.nii gzipped",
                gzip(read(RealFiles.nibabel("tests/data/anatomical.nii"))));
        for (String folder : SERIES) {
            List<byte[]> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(RealFiles.PYDICOM.resolve(folder))) {
                for (Path p : s.sorted().toList()) {
                    files.add(read(p));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String name = Path.of(folder).getFileName() + ".zip";
            slices.put(name, List.copyOf(files));
            add(name, Format.SERIES_ZIP, "pydicom's " + folder + " slices zipped", zip(files));
        }
    }

    /** The sources, built once. */
    public static Sources get() {
        if (instance == null) {
            synchronized (Sources.class) {
                if (instance == null) {
                    instance = new Sources();
                }
            }
        }
        return instance;
    }

    /** Every source, in a fixed order. */
    public List<Source> all() {
        return List.copyOf(all);
    }

    /** The real DICOM slices a series-ZIP source holds. */
    List<byte[]> slices(Source zip) {
        return slices.get(zip.name());
    }

    /** Slices zipped as "series/0.dcm", "series/1.dcm", ... in the given order. */
    static byte[] zip(List<byte[]> files) {
        ZipBuilder z = new ZipBuilder();
        for (int i = 0; i < files.size(); i++) {
            z.add("series/" + i + ".dcm", files.get(i));
        }
        return z.build();
    }

    static byte[] gzip(byte[] b) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    /** The first fragment after the Basic Offset Table of an encapsulated Pixel Data element. */
    private static byte[] firstFragment(byte[] dicom) {
        DicomElements d = DicomElements.parse(dicom);
        boolean inPixelData = false;
        int items = 0;
        for (DicomElements.Element e : d.elements) {
            if (e.tag() == 0x7FE00010 && e.depth() == 0) {
                inPixelData = true;
            } else if (inPixelData && e.tag() == 0xFFFEE000 && ++items == 2) {
                return Arrays.copyOfRange(dicom, e.valueAt(), e.valueAt() + e.length());
            }
        }
        throw new IllegalStateException("no JPEG fragment");
    }

    private void add(String name, Format format, String origin, byte[] bytes) {
        all.add(new Source(name, format, origin, bytes));
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
