/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.net;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.DicomInputStream;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.TransferSyntax;
import com.pixelmed.network.Association;
import com.pixelmed.network.AssociationFactory;
import com.pixelmed.network.AssociationOutputStream;
import com.pixelmed.network.CStoreRequestCommandMessage;
import com.pixelmed.network.DicomNetworkException;
import com.pixelmed.network.PDataPDU;
import com.pixelmed.network.PresentationContext;
import com.pixelmed.network.PresentationDataValue;
import com.pixelmed.network.PublicReceivedDataHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedList;

/**
 * Sends one DICOM Part 10 instance with C-STORE (PS3.4 Annex B) over a new association on PixelMed's association
 * layer, and returns the DIMSE status the remote answered. The instance travels in its own transfer syntax (no
 * transcoding): one presentation context is proposed, its SOP class with that transfer syntax; a remote that does
 * not accept it ends the exchange with a {@link DicomNetworkException}.
 */
public final class StoreScu {

    /** What the remote answered. */
    public record Result(int status, String sopInstanceUid) {
    }

    private StoreScu() {
    }

    /**
     * @param host          remote host name or address
     * @param port          remote TCP port
     * @param calledAeTitle the remote AE title
     * @param callingAeTitle our AE title
     * @param part10        the instance, a DICOM file with File Meta Information
     * @return the C-STORE-RSP status and the instance's SOP Instance UID
     * @throws IllegalArgumentException when {@code part10} is not a DICOM file with File Meta Information
     * @throws NotAccepted             when the remote does not accept the SOP class in the instance's transfer
     *                                  syntax (retrying will not help)
     * @throws DicomNetworkException    when the association is rejected or aborted
     * @throws IOException              when the connection fails or times out
     */
    public static Result send(String host, int port, String calledAeTitle, String callingAeTitle, byte[] part10)
            throws DicomNetworkException, IOException, NotAccepted {
        AttributeList meta = new AttributeList();
        DicomInputStream in;
        long metaEnd;
        try {
            in = new DicomInputStream(new ByteArrayInputStream(part10));
            if (!in.haveMetaHeader()) {
                throw new IllegalArgumentException("The content is not a DICOM file with File Meta Information.");
            }
            meta.readOnlyMetaInformationHeader(in);
            // preamble and "DICM" (132), the group length element (12), then the group length's bytes
            metaEnd = 132 + 12 + Attribute.getSingleLongValueOrDefault(meta,
                    TagFromName.FileMetaInformationGroupLength, -1);
            if (metaEnd < 144 || metaEnd > part10.length) {
                throw new IllegalArgumentException("The DICOM File Meta Information group length is missing or "
                        + "wrong.");
            }
        } catch (DicomException | IOException e) {
            String m = org.medprep.io.HeaderChecks.clean(e.getMessage());
            throw new IllegalArgumentException("The DICOM File Meta Information cannot be read"
                    + (m.isEmpty() ? "." : ": " + m + "."), e);
        }
        String sopClass = Attribute.getSingleStringValueOrNull(meta, TagFromName.MediaStorageSOPClassUID);
        String sopInstance = Attribute.getSingleStringValueOrNull(meta, TagFromName.MediaStorageSOPInstanceUID);
        String ts = Attribute.getSingleStringValueOrNull(meta, TagFromName.TransferSyntaxUID);
        if (sopClass == null || sopInstance == null || ts == null) {
            throw new IllegalArgumentException("The DICOM File Meta Information lacks the SOP class, SOP instance or "
                    + "transfer syntax UID.");
        }
        byte[] dataSet = java.util.Arrays.copyOfRange(part10, (int) metaEnd, part10.length);
        LinkedList<PresentationContext> contexts = new LinkedList<>();
        contexts.add(new PresentationContext((byte) 0x01, sopClass, ts));
        Association association = AssociationFactory.createNewAssociation(host, port, calledAeTitle, callingAeTitle,
                contexts, null, false);
        byte contextId;
        try {
            contextId = association.getSuitablePresentationContextID(sopClass, ts);
        } catch (DicomNetworkException e) {
            association.abort();
            throw new NotAccepted(calledAeTitle + " does not accept SOP class "
                    + org.medprep.io.HeaderChecks.printable(sopClass) + " in transfer syntax "
                    + org.medprep.io.HeaderChecks.printable(ts) + " (the instance is sent as it is, not transcoded).");
        }
        try {
            byte[] command = new CStoreRequestCommandMessage(sopClass, sopInstance).getBytes();
            association.send(contextId, command, null);
            // The data set through PixelMed's stream, which splits it into PDUs of the negotiated maximum length
            // (Association.send puts it in one PDU, which a peer with a smaller maximum refuses).
            try (AssociationOutputStream data = association.getAssociationOutputStream(contextId)) {
                data.write(dataSet);
            }
            Response response = new Response();
            association.setReceivedDataHandler(response);
            association.waitForCommandPDataPDUs();
            try {
                association.release();
            } catch (DicomNetworkException e) {
                // the status is in: a peer that drops the connection instead of answering the release changes nothing
            }
            return new Result(response.status, sopInstance);
        } catch (DicomException | com.pixelmed.network.AReleaseException e) {
            association.abort();
            throw new DicomNetworkException("The C-STORE exchange failed: "
                    + org.medprep.io.HeaderChecks.clean(e.getMessage()));
        } catch (DicomNetworkException | RuntimeException e) {
            association.abort();
            throw e;
        }
    }

    /** The remote accepted the association but not this instance's SOP class and transfer syntax. */
    public static final class NotAccepted extends Exception {
        NotAccepted(String message) {
            super(message);
        }
    }

    /** Reads the C-STORE-RSP command and its Status (0000,0900). */
    private static final class Response extends PublicReceivedDataHandler {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private int status = -1;

        @Override
        public void sendPDataIndication(PDataPDU pdu, Association association) throws DicomException, IOException {
            for (Object o : pdu.getPDVList()) {
                PresentationDataValue pdv = (PresentationDataValue) o;
                if (pdv.isCommand()) {
                    bytes.write(pdv.getValue());
                    if (pdv.isLastFragment()) {
                        AttributeList list = new AttributeList();
                        list.read(new DicomInputStream(new ByteArrayInputStream(bytes.toByteArray()),
                                TransferSyntax.ImplicitVRLittleEndian, false));
                        status = Attribute.getSingleIntegerValueOrDefault(list, TagFromName.Status, -1);
                        setDone(true);
                    }
                }
            }
        }
    }
}
