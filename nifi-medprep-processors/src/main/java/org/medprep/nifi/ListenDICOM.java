/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.SeeAlso;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.annotation.lifecycle.OnScheduled;
import org.apache.nifi.annotation.lifecycle.OnStopped;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.flowfile.attributes.CoreAttributes;
import org.apache.nifi.processor.AbstractProcessor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processor.exception.ProcessException;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.net.StoreScp;

/**
 * A DICOM C-STORE and C-ECHO SCP: each received instance becomes one FlowFile on {@code success} with a RECEIVE
 * provenance event. A C-STORE is answered Success only after the FlowFile's session has committed; if the session
 * cannot commit, the processor is stopped, or no FlowFile can be created within the Acknowledgement Timeout (for
 * example while back-pressure keeps NiFi from triggering the processor), the sender gets 0xA700 (Refused: Out of
 * Resources) and keeps the instance to retry. Nothing is acknowledged and then lost.
 */
@Tags({"medical imaging", "DICOM", "C-STORE", "C-ECHO", "SCP", "listen", "PACS", "DIMSE"})
@CapabilityDescription("Listens for DICOM associations and receives instances with C-STORE (and answers C-ECHO), on "
        + "PixelMed's association layer. Each instance becomes one FlowFile (DICOM Part 10 bytes as received, with "
        + "File Meta Information added) with a RECEIVE provenance event. The C-STORE is answered Success only after "
        + "the FlowFile is committed to NiFi's repositories; while NiFi cannot take it (back-pressure, processor "
        + "stopping) the sender gets 0xA700 Out of Resources and retries. Associations from calling AE titles not in "
        + "Allowed Calling AE Titles are aborted before any instance is accepted. Patient identity is never written "
        + "to attributes or logs.")
@InputRequirement(InputRequirement.Requirement.INPUT_FORBIDDEN)
@WritesAttributes({
        @WritesAttribute(attribute = ListenDICOM.ATTR_CALLING_AE, description = "The sender's (calling) AE title."),
        @WritesAttribute(attribute = ListenDICOM.ATTR_CALLED_AE, description = "The AE title the sender called."),
        @WritesAttribute(attribute = ListenDICOM.ATTR_REMOTE_HOST, description = "The sender's IP address."),
        @WritesAttribute(attribute = ListenDICOM.ATTR_SOP_CLASS, description = "Affected SOP Class UID of the C-STORE."),
        @WritesAttribute(attribute = ListenDICOM.ATTR_SOP_INSTANCE, description = "Affected SOP Instance UID of the "
                + "C-STORE (a UID, not patient identity)."),
        @WritesAttribute(attribute = ListenDICOM.ATTR_TRANSFER_SYNTAX, description = "Transfer syntax UID the data "
                + "set arrived in (kept: the content is not transcoded)."),
        @WritesAttribute(attribute = "filename", description = "<SOP Instance UID>.dcm"),
        @WritesAttribute(attribute = "mime.type", description = "application/dicom")
})
@SeeAlso({ValidateImage.class, PutDICOM.class})
public class ListenDICOM extends AbstractProcessor {

    static final String ATTR_CALLING_AE = "dicom.calling.ae.title";
    static final String ATTR_CALLED_AE = "dicom.called.ae.title";
    static final String ATTR_REMOTE_HOST = "dicom.remote.host";
    static final String ATTR_SOP_CLASS = "dicom.sop.class.uid";
    static final String ATTR_SOP_INSTANCE = "dicom.sop.instance.uid";
    static final String ATTR_TRANSFER_SYNTAX = "dicom.transfer.syntax.uid";

    public static final PropertyDescriptor PORT = new PropertyDescriptor.Builder()
            .name("Port")
            .description("TCP port to listen on (DICOM's registered port is 104, commonly 11112 without root).")
            .required(true)
            .addValidator(StandardValidators.PORT_VALIDATOR)
            .defaultValue("11112")
            .build();

    public static final PropertyDescriptor AE_TITLE = new PropertyDescriptor.Builder()
            .name("AE Title")
            .description("This listener's AE title: the called AE title senders must use (1-16 characters).")
            .required(true)
            .addValidator(StandardValidators.createRegexMatchingValidator(
                    java.util.regex.Pattern.compile("[\\x20-\\x5B\\x5D-\\x7E]{1,16}")))
            .defaultValue("MEDPREP")
            .build();

    public static final PropertyDescriptor ALLOWED_CALLING_AE_TITLES = new PropertyDescriptor.Builder()
            .name("Allowed Calling AE Titles")
            .description("Comma-separated calling AE titles accepted; empty accepts any. An association from another "
                    + "AE title is aborted before any instance is received.")
            .required(false)
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .build();

    public static final PropertyDescriptor MAX_PDU_LENGTH = new PropertyDescriptor.Builder()
            .name("Max PDU Length")
            .description("Maximum PDU length this listener receives, in bytes (negotiated at association).")
            .required(true)
            .addValidator(StandardValidators.createLongValidator(4096, 131072, true))
            .defaultValue("16384")
            .build();

    public static final PropertyDescriptor ACK_TIMEOUT = new PropertyDescriptor.Builder()
            .name("Acknowledgement Timeout")
            .description("How long a received instance may wait to be committed as a FlowFile before the sender is "
                    + "answered 0xA700 Out of Resources (and retries).")
            .required(true)
            .addValidator(StandardValidators.TIME_PERIOD_VALIDATOR)
            .defaultValue("30 sec")
            .build();

    public static final PropertyDescriptor QUEUE_SIZE = new PropertyDescriptor.Builder()
            .name("Receive Queue Size")
            .description("Instances received but not yet taken into a session; when full, new C-STOREs are answered "
                    + "0xA700 at once.")
            .required(true)
            .addValidator(StandardValidators.createLongValidator(1, 10000, true))
            .defaultValue("100")
            .build();

    public static final Relationship REL_SUCCESS = new Relationship.Builder()
            .name("success")
            .description("Every received instance, as a DICOM Part 10 file.")
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(PORT, AE_TITLE, ALLOWED_CALLING_AE_TITLES,
            MAX_PDU_LENGTH, ACK_TIMEOUT, QUEUE_SIZE);

    /** One instance waiting for a session, and the status its sender waits for. */
    private record Pending(StoreScp.Instance instance, CompletableFuture<Integer> status) {
    }

    private volatile BlockingQueue<Pending> queue;
    private volatile long ackTimeoutMillis;
    private volatile StoreScp scp;

    @Override
    protected List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return PROPERTIES;
    }

    @Override
    public Set<Relationship> getRelationships() {
        return Set.of(REL_SUCCESS);
    }

    /** How many received instances wait for a session (for tests). */
    int waitingInstances() {
        BlockingQueue<Pending> q = queue;
        return q == null ? 0 : q.size();
    }

    /** The bound port (for tests that listen on port 0), or -1 when not listening. */
    int listeningPort() {
        StoreScp s = scp;
        return s == null ? -1 : s.port();
    }

    @OnScheduled
    public void startListening(ProcessContext context) throws IOException {
        String allowed = context.getProperty(ALLOWED_CALLING_AE_TITLES).getValue();
        Set<String> allowedTitles = allowed == null ? Set.of() : Arrays.stream(allowed.split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
        ackTimeoutMillis = context.getProperty(ACK_TIMEOUT).asTimePeriod(TimeUnit.MILLISECONDS);
        queue = new ArrayBlockingQueue<>(context.getProperty(QUEUE_SIZE).asInteger());
        scp = new StoreScp(context.getProperty(PORT).asInteger(), context.getProperty(AE_TITLE).getValue().strip(),
                allowedTitles, context.getProperty(MAX_PDU_LENGTH).asInteger(), this::awaitCommit,
                m -> getLogger().warn(m));
    }

    /**
     * Runs on the association's thread (StoreScp's receiver): queues the instance and waits for its session to
     * commit.
     *
     * @return the C-STORE status to answer: {@link StoreScp#SUCCESS} once committed, else
     *         {@link StoreScp#OUT_OF_RESOURCES}
     */
    int awaitCommit(StoreScp.Instance instance) {
        BlockingQueue<Pending> q = queue;
        long timeoutMillis = ackTimeoutMillis;
        if (q == null) {
            return StoreScp.OUT_OF_RESOURCES;
        }
        Pending p = new Pending(instance, new CompletableFuture<>());
        if (!q.offer(p)) {
            getLogger().warn("C-STORE of {} from {} refused with 0xA700: {} instances are already waiting for NiFi",
                    instance.sopInstanceUid(), instance.callingAeTitle(), q.size());
            return StoreScp.OUT_OF_RESOURCES;
        }
        try {
            return p.status().get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // Not taken in time: withdraw it if still queued; if a session already took it, its outcome decides.
            if (q.remove(p)) {
                getLogger().warn("C-STORE of {} from {} refused with 0xA700: not taken into NiFi within {} ms",
                        instance.sopInstanceUid(), instance.callingAeTitle(), timeoutMillis);
                return StoreScp.OUT_OF_RESOURCES;
            }
            return p.status().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return StoreScp.OUT_OF_RESOURCES;
        } catch (java.util.concurrent.ExecutionException e) {
            return StoreScp.OUT_OF_RESOURCES;
        }
    }

    @OnStopped
    public void stopListening() {
        StoreScp s = scp;
        scp = null;
        if (s != null) {
            s.close();
        }
        BlockingQueue<Pending> q = queue;
        if (q != null) {
            Pending p;
            while ((p = q.poll()) != null) {
                p.status().complete(StoreScp.OUT_OF_RESOURCES);
            }
        }
    }

    /**
     * How long one trigger waits for an instance before it yields. A sender waits for each C-STORE's answer before
     * it sends the next, so a trigger that yielded (1 s by default) as soon as the queue was empty would pace a
     * sender at about one instance a second; waiting this long instead keeps up with it.
     */
    static final long POLL_WAIT_MILLIS = 200;

    /** At most this many waiting instances go into one session (one commit acknowledges them all). */
    static final int MAX_BATCH = 100;

    @Override
    public void onTrigger(ProcessContext context, ProcessSession session) throws ProcessException {
        BlockingQueue<Pending> q = queue;
        Pending first;
        try {
            first = q == null ? null : q.poll(POLL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (first == null) {
            context.yield();
            return;
        }
        List<Pending> batch = new ArrayList<>();
        batch.add(first);
        q.drainTo(batch, MAX_BATCH - 1);
        try {
            for (Pending p : batch) {
                receive(session, p.instance());
            }
        } catch (RuntimeException e) {
            batch.forEach(p -> p.status().complete(StoreScp.OUT_OF_RESOURCES));
            throw e;
        }
        session.commitAsync(() -> batch.forEach(p -> p.status().complete(StoreScp.SUCCESS)), failure -> {
            getLogger().warn("C-STORE of {} instances answered 0xA700: the session did not commit", batch.size(),
                    failure);
            batch.forEach(p -> p.status().complete(StoreScp.OUT_OF_RESOURCES));
        });
    }

    /** One received instance as a FlowFile to success, with its attributes and RECEIVE event. */
    private void receive(ProcessSession session, StoreScp.Instance in) {
        FlowFile flowFile = session.create();
        flowFile = session.write(flowFile, out -> out.write(in.part10()));
        Map<String, String> attributes = new HashMap<>();
        attributes.put(ATTR_CALLING_AE, in.callingAeTitle());
        attributes.put(ATTR_CALLED_AE, in.calledAeTitle());
        attributes.put(ATTR_REMOTE_HOST, in.remoteHost());
        attributes.put(ATTR_SOP_CLASS, in.sopClassUid());
        attributes.put(ATTR_SOP_INSTANCE, in.sopInstanceUid());
        attributes.put(ATTR_TRANSFER_SYNTAX, in.transferSyntaxUid());
        attributes.put(CoreAttributes.FILENAME.key(), in.sopInstanceUid() + ".dcm");
        attributes.put(CoreAttributes.MIME_TYPE.key(), "application/dicom");
        flowFile = session.putAllAttributes(flowFile, attributes);
        session.getProvenanceReporter().receive(flowFile, "dicom://" + in.callingAeTitle() + "@"
                + in.remoteHost() + ":" + in.remotePort(), "C-STORE from " + in.callingAeTitle() + " to "
                + in.calledAeTitle());
        session.transfer(flowFile, REL_SUCCESS);
        session.adjustCounter("DICOM instances received", 1, false);
    }
}
