/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * What {@link DerivedDicomWriter} needs to know about the object it derives from, already resolved to the values
 * it writes: the caller decides de-identification (replacement UIDs, pseudonymous patient ID) before building
 * this record, so the writer never sees identity it must not write.
 *
 * @param modality              DICOM Modality to write (CT, MR, CR, ...; "OT" when unknown)
 * @param studyInstanceUid      Study Instance UID of the derived object (the source's, or its replacement)
 * @param seriesInstanceUid     Series Instance UID of the new derived series
 * @param frameOfReferenceUid   Frame of Reference UID of the derived object's patient coordinates
 * @param sopInstanceUid        the new SOP Instance UID
 * @param sourceSopClassUid     SOP Class UID of the source instance, or null when unknown (no reference written)
 * @param sourceSopInstanceUid  SOP Instance UID of the source (the source's, or its replacement), or null
 * @param patientId             Patient ID to write (a keyed pseudonym when de-identified), or "" for none
 * @param patientName           Patient's Name to write ("" when de-identified)
 * @param identityRemoved       true: Patient Identity Removed = YES and the PS3.15 Basic Application Level
 *                              Confidentiality Profile is recorded as the de-identification method
 * @param derivationDescription Derivation Description text (ST, cut to 1024 characters), e.g. the step history
 * @param seriesDescription     Series Description (LO, cut to 64 characters)
 */
public record DerivedDicomSource(String modality, String studyInstanceUid, String seriesInstanceUid,
                                 String frameOfReferenceUid, String sopInstanceUid, String sourceSopClassUid,
                                 String sourceSopInstanceUid, String patientId, String patientName,
                                 boolean identityRemoved, String derivationDescription, String seriesDescription) {
}
