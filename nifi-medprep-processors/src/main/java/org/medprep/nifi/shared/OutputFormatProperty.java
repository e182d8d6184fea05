/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.util.Arrays;
import org.apache.nifi.components.AllowableValue;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.processor.ProcessContext;
import org.medprep.io.OutputFormat;

/** The Output Format property every transforming processor has, over {@link OutputFormat}. */
public final class OutputFormatProperty {

    public static final PropertyDescriptor OUTPUT_FORMAT = new PropertyDescriptor.Builder()
            .name("Output Format")
            .description("Encoding of the output content. NIfTI (uncompressed .nii) keeps spacing, origin and "
                    + "direction and costs no codec between steps; NIfTI gzip for storage; NumPy .npy for training "
                    + "code (shape (y, x) or (z, y, x)); PNG for single-slice integer results only (a float result "
                    + "routes to failure); DICOM for a new derived object a PACS or viewer can take (Multi-frame "
                    + "Secondary Capture, one frame per slice, geometry in functional groups, float values as 16-bit "
                    + "with Rescale Slope/Intercept, de-identified by PS3.15's Basic Profile unless ValidateImage "
                    + "exposed patient identifiers; see docs/derived-dicom.md). Sets mime.type and the filename "
                    + "extension.")
            .required(true)
            .allowableValues(Arrays.stream(OutputFormat.values())
                    .map(f -> new AllowableValue(f.name(), f.displayName(), f.extension() + ", " + f.mimeType()))
                    .toArray(AllowableValue[]::new))
            .defaultValue(OutputFormat.NIFTI.name())
            .build();

    private OutputFormatProperty() {
    }

    public static OutputFormat of(ProcessContext context) {
        return OutputFormat.valueOf(context.getProperty(OUTPUT_FORMAT).getValue());
    }
}
