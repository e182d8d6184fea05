/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * What a reader does with a colour (3-channel) image.
 * <ul>
 *   <li>{@link #KEEP_CHANNELS}: samples as stored, 3 channels in R, G, B order.</li>
 *   <li>{@link #GRAYSCALE}: one channel of luma, exactly as OpenCV's {@code cv2.imread(path, cv2.IMREAD_GRAYSCALE
 *       | cv2.IMREAD_ANYDEPTH)} gives it, bit depth kept: for JPEG the decoder's own Y component (libjpeg
 *       {@code JCS_GRAYSCALE} output, no round trip through RGB); for PNG libpng's RGB-to-gray conversion, which
 *       OpenCV requests with the ITU-R BT.601 weights 0.299 / 0.587 and which honours the file's gAMA/sRGB
 *       chunks; for other formats (DICOM RGB, TIFF, NIfTI) the BT.601 luma {@code 0.299 R + 0.587 G + 0.114 B}
 *       of OpenCV's {@code cvtColor(COLOR_RGB2GRAY)}. Grayscale images are unchanged.</li>
 * </ul>
 */
public enum ColorHandling {
    KEEP_CHANNELS,
    GRAYSCALE
}
