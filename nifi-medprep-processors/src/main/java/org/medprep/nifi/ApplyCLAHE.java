/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.medprep.nifi.shared.PropertyChoice;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.ops.Clahe;
import org.medprep.ops.HistogramBins;

/** Contrast Limited Adaptive Histogram Equalization over OpenCV ({@link Clahe}). */
@Tags({"medical imaging", "CLAHE", "contrast", "histogram equalization", "X-ray", "OpenCV"})
@CapabilityDescription("Applies CLAHE (OpenCV) slice by slice, by default with 256 histogram bins over the Bits "
        + "Stored range (a 12-bit value v falls in bin v >> 4), so that a clip limit means the same at every bit depth "
        + "and a 12-bit X-ray and its 8-bit export give the same 8-bit result. OpenCV's native binning (65,536 bins "
        + "for 16-bit) is available. Defaults are the chest X-ray recipe's clip limit 2.0 and 8 x 8 tile grid.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format.")
})
public class ApplyCLAHE extends ImageTransformProcessor {

    /** Values of {@link #HISTOGRAM_BINS}. */
    public enum HistogramBinning implements PropertyChoice {
        BITS_STORED_256("256 bins over the Bits Stored range", "Equal-width bins over 0 to 2^BitsStored - 1 "
                + "(a 12-bit value v falls in bin v >> 4; 8-bit values are their own bin), then OpenCV's 8-bit CLAHE: "
                + "the result is 8-bit (Bits Stored 8), the same for a 12-bit image and its 8-bit export, and "
                + "identical to OpenCV for 8-bit input. int16 and float images: 256 bins over their own min to max, "
                + "the result mapped back onto that range in their own type.",
                Clahe.Bins.BITS_STORED_256),
        OPENCV_NATIVE("OpenCV native", "One bin per value of the sample type: 256 for 8-bit, 65,536 for 16-bit "
                + "(Bits Stored 16 afterwards; a small clip limit then caps every bin at 1); int16 and float images "
                + "are mapped from their own range onto 16 bits, equalized and mapped back.",
                Clahe.Bins.OPENCV_NATIVE);

        private final Text text;
        private final Clahe.Bins bins;

        HistogramBinning(String displayName, String description, Clahe.Bins bins) {
            this.text = new Text(displayName, description);
            this.bins = bins;
        }

        @Override
        public Text text() {
            return text;
        }

        /** The op's mode. */
        public Clahe.Bins bins() {
            return bins;
        }
    }

    public static final PropertyDescriptor CLIP_LIMIT = new PropertyDescriptor.Builder()
            .name("Clip Limit")
            .description("OpenCV clip limit, relative to the mean histogram bin count per tile (OpenCV default 40; "
                    + "2.0 is common for chest X-rays).")
            .required(true)
            .defaultValue("2.0")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .build();

    public static final PropertyDescriptor TILE_COLUMNS = new PropertyDescriptor.Builder()
            .name("Tile Grid Columns")
            .description("Number of tiles across the image.")
            .required(true)
            .defaultValue("8")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor TILE_ROWS = new PropertyDescriptor.Builder()
            .name("Tile Grid Rows")
            .description("Number of tiles down the image.")
            .required(true)
            .defaultValue("8")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor HISTOGRAM_BINS = new PropertyDescriptor.Builder()
            .name("Histogram Bins")
            .description("How each tile's histogram is binned, which decides what a clip limit means. The default "
                    + "gives a b-bit image and its 8-bit export (v >> (b - 8)) the same result; OpenCV native keeps "
                    + "OpenCV's own behaviour.")
            .required(true)
            .allowableValues(HistogramBinning.class)
            .defaultValue(HistogramBinning.BITS_STORED_256)
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(CLIP_LIMIT, TILE_COLUMNS, TILE_ROWS,
            HISTOGRAM_BINS);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        double clip = context.getProperty(CLIP_LIMIT).asDouble();
        int columns = context.getProperty(TILE_COLUMNS).asInteger();
        int rows = context.getProperty(TILE_ROWS).asInteger();
        HistogramBinning binning = context.getProperty(HISTOGRAM_BINS).asAllowableValue(HistogramBinning.class);
        return (image, flowFile) -> {
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("Clip Limit", clip);
            parameters.put("Tile Grid Columns", columns);
            parameters.put("Tile Grid Rows", rows);
            parameters.put("Histogram Bins", binning.getDisplayName());
            if (binning != HistogramBinning.BITS_STORED_256) {
                return new ImageTransformer.Step(Clahe.apply(image, clip, columns, rows, binning.bins()), parameters);
            }
            // The range the 256 bins are cut from (BitsStored, or the image's own min and max for int16/float),
            // computed once: recorded here and handed to the op.
            HistogramBins.Range range = HistogramBins.range(image);
            if (range.fromBitsStored()) {
                parameters.put("Bits Stored", range.bitsStored());
            } else {
                parameters.put("Bin Range Min", range.low());
                parameters.put("Bin Range Max", range.high());
            }
            return new ImageTransformer.Step(Clahe.apply(image, clip, columns, rows, range), parameters);
        };
    }
}
