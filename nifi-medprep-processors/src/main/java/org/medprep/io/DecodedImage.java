/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.util.Map;
import org.medprep.image.Image;

/**
 * What a reader returns: the image, and for DICOM input the top-level header attributes as text, keyed by
 * DICOM keyword (e.g. "Modality", "StudyInstanceUID"; multi-valued attributes joined with '\'). For a ZIP series
 * the header is the first slice's. Empty for non-DICOM input.
 *
 * <p>The header <b>does contain patient identity</b> (PatientID, PatientName): it exists so a processor can check
 * required attributes and compute a keyed pseudonym. Callers must never copy it wholesale into attributes,
 * logs or provenance.
 */
public record DecodedImage(Image image, Map<String, String> header) {
    public DecodedImage {
        header = Map.copyOf(header);
    }
}
