/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.util.Map;
import org.medprep.image.Image;

/** The image attributes every medprep processor writes the same way. */
public final class ImageAttributes {

    private ImageAttributes() {
    }

    /** medprep.width / height / depth (pixels, slices) and medprep.spacing ("x,y,z" in mm). */
    public static Map<String, String> size(Image image) {
        double[] s = image.geometry().spacing();
        return Map.of("medprep.width", Integer.toString(image.width()),
                "medprep.height", Integer.toString(image.height()),
                "medprep.depth", Integer.toString(image.depth()),
                "medprep.spacing", number(s[0]) + "," + number(s[1]) + "," + number(s[2]));
    }

    /** Integers without a decimal point, other values in Java's shortest round-trip form ("0.661468"). */
    public static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
