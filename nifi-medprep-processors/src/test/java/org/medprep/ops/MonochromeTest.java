/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.medprep.image.Image;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.RealFiles;

class MonochromeTest {

    @Test
    void realMonochrome1CrIsInvertedOverBitsStoredAndKeepsPhysicalValues() throws Exception {
        Image cr = ImageReaders.read(Files.readAllBytes(RealFiles.pydicom("dicomdirtests/77654033/CR1/6154")),
                ReadLimits.DEFAULT).image();
        assertEquals("MONOCHROME1", cr.metadata().photometricInterpretation());
        assertEquals(12, cr.metadata().bitsStored());
        Image m2 = Monochrome.toMonochrome2(cr);
        assertEquals("MONOCHROME2", m2.metadata().photometricInterpretation());
        for (int i = 0; i < cr.size(); i++) {
            assertEquals(4095 - cr.get(i), m2.get(i), "sample " + i);
            double physical = cr.get(i) * cr.metadata().rescaleSlope() + cr.metadata().rescaleIntercept();
            double after = m2.get(i) * m2.metadata().rescaleSlope() + m2.metadata().rescaleIntercept();
            assertEquals(physical, after, 1e-9, "Modality LUT output unchanged at " + i);
        }
    }

    @Test
    void monochrome2IsReturnedUnchanged() throws Exception {
        Image ct = ImageReaders.read(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")), ReadLimits.DEFAULT)
                .image();
        assertSame(ct, Monochrome.toMonochrome2(ct));
    }
}
