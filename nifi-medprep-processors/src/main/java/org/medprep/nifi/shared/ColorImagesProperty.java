/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.ProcessContext;
import org.medprep.io.ColorHandling;

/** The Color Images property of ValidateImage and every transforming processor, over {@link ColorHandling}. */
public final class ColorImagesProperty {

    /** The choices, as the NiFi UI shows them. */
    public enum Choice implements PropertyChoice {
        KEEP_CHANNELS("Keep Channels", "Colour images keep their 3 channels (R, G, B); steps that need one channel "
                + "(e.g. ApplyCLAHE) route them to failure.", ColorHandling.KEEP_CHANNELS),
        GRAYSCALE("Convert to Grayscale", "Colour images become one channel of luma, exactly as OpenCV's "
                + "cv2.imread(path, IMREAD_GRAYSCALE) gives it (JPEG: the decoder's Y; PNG: libpng's conversion; "
                + "DICOM/TIFF/NIfTI RGB: 0.299 R + 0.587 G + 0.114 B); bit depth is kept. Grayscale images are "
                + "unchanged.", ColorHandling.GRAYSCALE);

        private final Text text;
        private final ColorHandling handling;

        Choice(String displayName, String description, ColorHandling handling) {
            this.text = new Text(displayName, description);
            this.handling = handling;
        }

        @Override
        public Text text() {
            return text;
        }

        public ColorHandling handling() {
            return handling;
        }
    }

    public static final PropertyDescriptor COLOR_IMAGES = new PropertyDescriptor.Builder()
            .name("Color Images")
            .description("What reading the input does with a colour (3-channel) image. About 5 % of the public "
                    + "chest X-ray JPEG sets are stored with three channels although they are gray.")
            .required(true)
            .allowableValues(Choice.class)
            .defaultValue(Choice.KEEP_CHANNELS)
            .build();

    private ColorImagesProperty() {
    }

    public static ColorHandling of(ProcessContext context) {
        return context.getProperty(COLOR_IMAGES).asAllowableValue(Choice.class).handling();
    }

    /** The display name of the configured choice, as a step records it. */
    public static String configured(ProcessContext context) {
        return context.getProperty(COLOR_IMAGES).asAllowableValue(Choice.class).getDisplayName();
    }
}
