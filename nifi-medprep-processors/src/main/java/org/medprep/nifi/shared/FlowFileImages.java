/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.util.concurrent.atomic.AtomicReference;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.processor.ProcessSession;
import org.medprep.image.Image;
import org.medprep.io.ColorHandling;
import org.medprep.io.DecodedImage;
import org.medprep.io.ImageReadException;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Grayscale;

/** Reads a FlowFile's content into an image, with the size checks every processor needs before allocating. */
public final class FlowFileImages {

    private FlowFileImages() {
    }

    /**
     * Reads and decodes the whole content of {@code flowFile}.
     *
     * @throws ImageReadException TOO_LARGE when the content itself exceeds what one array can hold or what this JVM
     *                            can give ({@link ReadLimits#availableBytes()}; checked from the FlowFile size before
     *                            reading), or whatever the format's reader throws
     */
    public static DecodedImage read(ProcessSession session, FlowFile flowFile, ReadLimits limits)
            throws ImageReadException {
        return read(session, flowFile, limits, ColorHandling.KEEP_CHANNELS);
    }

    /**
     * As {@link #read(ProcessSession, FlowFile, ReadLimits)}, colour images handled as {@code color} says: PNG and
     * JPEG by their decoders, any other 3-channel image by {@link Grayscale#fromRgb}.
     */
    public static DecodedImage read(ProcessSession session, FlowFile flowFile, ReadLimits limits,
                                    ColorHandling color) throws ImageReadException {
        if (flowFile.getSize() > Image.MAX_SAMPLES) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE, "The content is "
                    + flowFile.getSize() + " bytes, more than the 2 GiB one image file may have.");
        }
        ReadLimits.checkMemory(flowFile.getSize(), "The content is " + flowFile.getSize() + " bytes");
        AtomicReference<byte[]> content = new AtomicReference<>();
        // one array of the FlowFile's size, filled in place (readAllBytes would gather chunks and copy them again)
        session.read(flowFile, in -> {
            byte[] all = new byte[(int) flowFile.getSize()];
            int got = in.readNBytes(all, 0, all.length);
            content.set(got == all.length ? all : java.util.Arrays.copyOf(all, got));
        });
        DecodedImage decoded = ImageReaders.read(content.get(), limits, color);
        if (color == ColorHandling.GRAYSCALE && decoded.image().channels() == 3) {
            return new DecodedImage(Grayscale.fromRgb(decoded.image()), decoded.header());
        }
        return decoded;
    }
}
