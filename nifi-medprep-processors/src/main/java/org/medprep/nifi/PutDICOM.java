/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import com.pixelmed.network.DicomNetworkException;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.SeeAlso;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.annotation.lifecycle.OnScheduled;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.processor.AbstractProcessor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processor.exception.ProcessException;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.io.HeaderChecks;
import org.medprep.io.ReadLimits;
import org.medprep.net.StoreScu;

/**
 * Sends each FlowFile (a DICOM Part 10 file) to a remote AE with C-STORE and routes it by the DIMSE status (PS3.4
 * B.2.3): Success and Warning (0000, B000, B006, B007, 0001) to {@code success}; Refused: Out of Resources (A7xx), a
 * refused or aborted association, a connection refused or timed out to {@code retry}; every other status, a SOP
 * class and transfer syntax the remote does not accept, or content that is not a DICOM file, to {@code failure}. A SEND provenance event names the remote as
 * {@code dicom://CALLED_AE@host:port}.
 */
@Tags({"medical imaging", "DICOM", "C-STORE", "SCU", "send", "PACS", "DIMSE"})
@CapabilityDescription("Sends each FlowFile, a DICOM Part 10 file, to a remote DICOM AE (a PACS, a router) with "
        + "C-STORE over a new association, in the file's own transfer syntax, and routes it by the C-STORE status: "
        + "success (Success or Warning), retry (Out of Resources, association refused or aborted, connection failed "
        + "or timed out), failure (any other status, or not a DICOM file). dicom.status holds the status in hex.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@WritesAttributes({
        @WritesAttribute(attribute = PutDICOM.ATTR_STATUS, description = "The C-STORE-RSP status, 4 hex digits "
                + "(absent when no response came)."),
        @WritesAttribute(attribute = PutDICOM.ATTR_REASON, description = "Why the FlowFile went to retry or failure, "
                + "one sentence.")
})
@SeeAlso({ListenDICOM.class})
public class PutDICOM extends AbstractProcessor {

    static final String ATTR_STATUS = "dicom.status";
    static final String ATTR_REASON = "medprep.failure.reason";

    public static final PropertyDescriptor HOSTNAME = new PropertyDescriptor.Builder()
            .name("Hostname")
            .description("Host name or IP address of the remote AE.")
            .required(true)
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .build();

    public static final PropertyDescriptor PORT = new PropertyDescriptor.Builder()
            .name("Port")
            .description("TCP port of the remote AE.")
            .required(true)
            .addValidator(StandardValidators.PORT_VALIDATOR)
            .defaultValue("104")
            .build();

    public static final PropertyDescriptor CALLED_AE_TITLE = new PropertyDescriptor.Builder()
            .name("Called AE Title")
            .description("The remote AE title (1-16 characters).")
            .required(true)
            .addValidator(StandardValidators.createRegexMatchingValidator(
                    java.util.regex.Pattern.compile("[\\x20-\\x5B\\x5D-\\x7E]{1,16}")))
            .build();

    public static final PropertyDescriptor CALLING_AE_TITLE = new PropertyDescriptor.Builder()
            .name("Calling AE Title")
            .description("This sender's AE title, as the remote knows it (1-16 characters).")
            .required(true)
            .addValidator(StandardValidators.createRegexMatchingValidator(
                    java.util.regex.Pattern.compile("[\\x20-\\x5B\\x5D-\\x7E]{1,16}")))
            .defaultValue("MEDPREP")
            .build();

    public static final Relationship REL_SUCCESS = new Relationship.Builder()
            .name("success").description("Stored by the remote (Success or Warning status).").build();
    public static final Relationship REL_RETRY = new Relationship.Builder()
            .name("retry").description("Not stored for a reason that may pass: Out of Resources, association "
                    + "refused or aborted, connection refused or timed out.").build();
    public static final Relationship REL_FAILURE = new Relationship.Builder()
            .name("failure").description("Refused by the remote with an error status, or not a DICOM file.").build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(HOSTNAME, PORT, CALLED_AE_TITLE,
            CALLING_AE_TITLE);

    /** Settings resolved when scheduled. */
    private record Remote(String host, int port, String calledAe, String callingAe) {
        String uri() {
            return "dicom://" + calledAe + "@" + host + ":" + port;
        }
    }

    private volatile Remote remote;

    @Override
    protected List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return PROPERTIES;
    }

    @Override
    public Set<Relationship> getRelationships() {
        return Set.of(REL_SUCCESS, REL_RETRY, REL_FAILURE);
    }

    @OnScheduled
    public void resolve(ProcessContext context) {
        remote = new Remote(context.getProperty(HOSTNAME).getValue().strip(), context.getProperty(PORT).asInteger(),
                context.getProperty(CALLED_AE_TITLE).getValue().strip(),
                context.getProperty(CALLING_AE_TITLE).getValue().strip());
    }

    /** success for Success (0000) and the Warning statuses (0001, B000-BFFF); retry for A7xx; else failure. */
    static Relationship byStatus(int status) {
        if (status == 0x0000 || status == 0x0001 || (status >= 0xB000 && status <= 0xBFFF)) {
            return REL_SUCCESS;
        }
        return (status & 0xFF00) == 0xA700 ? REL_RETRY : REL_FAILURE;
    }

    @Override
    public void onTrigger(ProcessContext context, ProcessSession session) throws ProcessException {
        FlowFile flowFile = session.get();
        if (flowFile == null) {
            return;
        }
        Remote r = remote;
        long start = System.nanoTime();
        long fits = Math.min(Integer.MAX_VALUE - 8, ReadLimits.availableBytes());
        if (flowFile.getSize() > fits) {
            String reason = "The FlowFile holds " + flowFile.getSize() + " bytes; at most " + fits
                    + " can be sent from this JVM.";
            flowFile = session.putAttribute(flowFile, ATTR_REASON, reason);
            getLogger().warn("{} routed to failure: {}", flowFile, reason);
            session.transfer(flowFile, REL_FAILURE);
            return;
        }
        byte[] content = new byte[(int) flowFile.getSize()];
        session.read(flowFile, in -> in.readNBytes(content, 0, content.length));
        Relationship to;
        String reason = null;
        String status = null;
        try {
            StoreScu.Result result = StoreScu.send(r.host(), r.port(), r.calledAe(), r.callingAe(), content);
            status = String.format("%04X", result.status());
            to = byStatus(result.status());
            if (to != REL_SUCCESS) {
                reason = r.calledAe() + " at " + r.host() + ":" + r.port() + " answered the C-STORE with status "
                        + status + (to == REL_RETRY ? " (Refused: Out of Resources)." : ".");
            }
        } catch (IllegalArgumentException e) {
            to = REL_FAILURE;
            reason = e.getMessage(); // StoreScu's own sentence, a library's message in it cleaned
        } catch (StoreScu.NotAccepted e) {
            to = REL_FAILURE;
            reason = "The C-STORE to " + r.host() + ":" + r.port() + " was not made: " + e.getMessage();
        } catch (DicomNetworkException | IOException e) {
            to = REL_RETRY;
            String m = HeaderChecks.clean(e.getMessage());
            reason = "The C-STORE to " + r.calledAe() + " at " + r.host() + ":" + r.port() + " did not complete"
                    + (m.isEmpty() ? "." : ": " + m + ".");
        }
        if (status != null) {
            flowFile = session.putAttribute(flowFile, ATTR_STATUS, status);
        }
        if (to == REL_SUCCESS) {
            session.getProvenanceReporter().send(flowFile, r.uri(), (System.nanoTime() - start) / 1_000_000);
        } else {
            flowFile = session.putAttribute(flowFile, ATTR_REASON, reason);
            getLogger().warn("{} routed to {}: {}", flowFile, to.getName(), reason);
            session.adjustCounter("DICOM instances routed to " + to.getName(), 1, false);
            if (to == REL_RETRY) {
                flowFile = session.penalize(flowFile);
            }
        }
        session.transfer(flowFile, to);
    }
}
