/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Real test images shipped by Debian packages (installed by ./medprep test); nothing here was written by us. */
public final class RealFiles {

    /** python3-pydicom's test files. */
    public static final Path PYDICOM = Path.of("/usr/lib/python3/dist-packages/pydicom/data/test_files");
    /** python3-skimage's sample images. */
    public static final Path SKIMAGE = Path.of("/usr/lib/python3/dist-packages/skimage/data");

    /** python3-nibabel's package folder (test data under tests/data and nicom/tests/data). */
    public static final Path NIBABEL = Path.of("/usr/lib/python3/dist-packages/nibabel");
    /** mricron-data's templates (Colin27 "ch2" T1 volumes). */
    public static final Path MRICRON = Path.of("/usr/share/mricron/templates");

    private RealFiles() {
    }

    /** A pydicom test file, e.g. "CT_small.dcm" or "dicomdirtests/77654033/CR1/6154". */
    public static Path pydicom(String relative) {
        return existing(PYDICOM.resolve(relative));
    }

    /** A python3-skimage sample image, e.g. "camera.png". */
    public static Path skimage(String name) {
        return existing(SKIMAGE.resolve(name));
    }

    /** A python3-nibabel data file, e.g. "tests/data/anatomical.nii". */
    public static Path nibabel(String relative) {
        return existing(NIBABEL.resolve(relative));
    }

    /** A mricron-data template, e.g. "ch2.nii.gz" (Colin27 T1, uint8, 181 × 217 × 181, 1 mm). */
    public static Path mricron(String name) {
        return existing(MRICRON.resolve(name));
    }

    /** The first {@code fraction} of a real file's bytes: a truncated copy. */
    public static byte[] truncated(Path file, double fraction) throws IOException {
        byte[] all = Files.readAllBytes(file);
        return Arrays.copyOf(all, (int) (all.length * fraction));
    }

    private static Path existing(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("real test file missing (is its Debian package installed?): " + p);
        }
        return p;
    }
}
