/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.net;

import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.DicomInputStream;
import com.pixelmed.dicom.DicomOutputStream;
import com.pixelmed.dicom.FileMetaInformation;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.TransferSyntax;
import com.pixelmed.network.AReleaseException;
import com.pixelmed.network.Association;
import com.pixelmed.network.AssociationFactory;
import com.pixelmed.network.CEchoRequestCommandMessage;
import com.pixelmed.network.CEchoResponseCommandMessage;
import com.pixelmed.network.CStoreRequestCommandMessage;
import com.pixelmed.network.CStoreResponseCommandMessage;
import com.pixelmed.network.DicomNetworkException;
import com.pixelmed.network.MessageServiceElementCommand;
import com.pixelmed.network.PDataPDU;
import com.pixelmed.network.PresentationDataValue;
import com.pixelmed.network.PublicReceivedDataHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A DICOM Storage SCP (C-STORE) and Verification SCP (C-ECHO) on PixelMed's association layer
 * ({@code com.pixelmed.network}). Unlike PixelMed's {@code StorageSOPClassSCPDispatcher}, which writes every
 * instance to a folder and always answers Success, it hands each received instance to a {@link Receiver} and answers
 * the C-STORE with the status the receiver returns, so a caller can acknowledge an instance only once it is safely
 * stored (PS3.4 B.2.3: 0000 Success, A700 Refused: Out of Resources, which a sender retries).
 *
 * <p>Associations whose calling AE title is not allowed are aborted right after negotiation, before any instance is
 * accepted (PixelMed's acceptor offers no hook to send an A-ASSOCIATE-RJ for a calling AE title). One thread per
 * association; associations and instances are processed concurrently.
 */
public final class StoreScp implements AutoCloseable {

    /** C-STORE status: Success. */
    public static final int SUCCESS = 0x0000;
    /** C-STORE status: Refused, Out of Resources (PS3.4 B.2.3); a sender may retry. */
    public static final int OUT_OF_RESOURCES = 0xA700;
    /** C-STORE status: Error, Cannot Understand. */
    public static final int CANNOT_UNDERSTAND = 0xC000;

    /** One received instance, as a DICOM Part 10 file. */
    public record Instance(byte[] part10, String sopClassUid, String sopInstanceUid, String transferSyntaxUid,
                           String callingAeTitle, String calledAeTitle, String remoteHost, int remotePort) {
    }

    /** Decides the C-STORE status of each instance; called on the association's thread, may block. */
    @FunctionalInterface
    public interface Receiver {
        /** @return the C-STORE status to answer, e.g. {@link #SUCCESS} once the instance is stored */
        int receive(Instance instance);
    }

    private final ServerSocket server;
    private final String aeTitle;
    private final Set<String> allowedCallingAeTitles;
    private final int maxPduLength;
    private final Receiver receiver;
    private final Consumer<String> warn;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "medprep-dicom-scp");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Binds the port and starts accepting associations.
     *
     * @param port                   TCP port (0 for any free port, see {@link #port()})
     * @param aeTitle                this SCP's AE title (the called AE title senders must use)
     * @param allowedCallingAeTitles calling AE titles accepted; empty for any
     * @param maxPduLength           maximum PDU length received, bytes
     * @param receiver               gives each instance its status
     * @param warn                   receives one sentence per refused association or failed exchange
     * @throws IOException when the port cannot be bound
     */
    public StoreScp(int port, String aeTitle, Set<String> allowedCallingAeTitles, int maxPduLength, Receiver receiver,
                    Consumer<String> warn) throws IOException {
        this.server = new ServerSocket(port);
        this.aeTitle = aeTitle;
        this.allowedCallingAeTitles = Set.copyOf(allowedCallingAeTitles);
        this.maxPduLength = maxPduLength;
        this.receiver = receiver;
        this.warn = warn;
        threads.execute(this::acceptLoop);
    }

    /** The bound TCP port. */
    public int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed.get()) {
            try {
                Socket socket = server.accept();
                threads.execute(() -> serve(socket));
            } catch (IOException e) {
                if (!closed.get()) {
                    warn.accept("Accepting a DICOM connection failed: " + e.getMessage() + ".");
                }
            }
        }
    }

    private void serve(Socket socket) {
        Association association = null;
        try (socket) {
            // Any storage SOP class in the sender's transfer syntax, compressed included: kept as it arrives.
            association = AssociationFactory.createNewAssociation(socket, aeTitle, maxPduLength,
                    AssociationFactory.getDefaultReceiveBufferSize(), AssociationFactory.getDefaultSendBufferSize(),
                    new KeepTransferSyntaxPolicy());
            String calling = association.getCallingAETitle().strip();
            if (!allowedCallingAeTitles.isEmpty() && !allowedCallingAeTitles.contains(calling)) {
                warn.accept("An association from calling AE title " + calling + " at "
                        + socket.getInetAddress().getHostAddress() + " was aborted: that AE title is not allowed.");
                association.abort();
                return;
            }
            while (!closed.get()) {
                Request request = new Request();
                association.setReceivedDataHandler(request);
                try {
                    association.waitForPDataPDUsUntilHandlerReportsDone();
                } catch (AReleaseException released) {
                    return;
                }
                answer(association, request, socket.getInetAddress(), socket.getPort());
            }
        } catch (DicomNetworkException | IOException | DicomException | RuntimeException e) {
            if (!closed.get()) {
                warn.accept("A DICOM association from " + socket.getInetAddress().getHostAddress()
                        + " ended with an error: " + e.getMessage() + ".");
            }
            if (association != null) {
                try {
                    association.abort();
                } catch (DicomNetworkException ignored) {
                    // the connection is gone already
                }
            }
        }
    }

    private void answer(Association association, Request r, InetAddress remote, int remotePort)
            throws DicomException, IOException, DicomNetworkException {
        if (r.command == MessageServiceElementCommand.C_ECHO_RQ) {
            CEchoRequestCommandMessage echo = new CEchoRequestCommandMessage(r.commandList);
            byte[] rsp = new CEchoResponseCommandMessage(echo.getAffectedSOPClassUID(), echo.getMessageID(), SUCCESS)
                    .getBytes();
            association.send(r.contextId, rsp, null);
            return;
        }
        if (r.command != MessageServiceElementCommand.C_STORE_RQ) {
            throw new DicomNetworkException("only C-STORE and C-ECHO are served; command 0x"
                    + Integer.toHexString(r.command) + " was requested");
        }
        CStoreRequestCommandMessage store = new CStoreRequestCommandMessage(r.commandList);
        int status;
        try {
            String ts = association.getTransferSyntaxForPresentationContextID(r.contextId);
            byte[] part10 = part10(store.getAffectedSOPClassUID(), store.getAffectedSOPInstanceUID(), ts,
                    association.getCallingAETitle().strip(), r.data.toByteArray());
            status = receiver.receive(new Instance(part10, store.getAffectedSOPClassUID(),
                    store.getAffectedSOPInstanceUID(), ts, association.getCallingAETitle().strip(),
                    association.getCalledAETitle().strip(), remote.getHostAddress(), remotePort));
        } catch (DicomException | IOException | RuntimeException e) {
            warn.accept("A C-STORE from " + association.getCallingAETitle().strip() + " could not be taken: "
                    + e.getMessage() + ".");
            status = CANNOT_UNDERSTAND;
        }
        byte[] rsp = new CStoreResponseCommandMessage(store.getAffectedSOPClassUID(),
                store.getAffectedSOPInstanceUID(), store.getMessageID(), status).getBytes();
        association.send(r.contextId, rsp, null);
    }

    /** Preamble, "DICM", File Meta Information (Explicit VR Little Endian) and the data set as received. */
    static byte[] part10(String sopClass, String sopInstance, String transferSyntax, String sourceAe, byte[] dataSet)
            throws DicomException, IOException {
        AttributeList meta = new FileMetaInformation(sopClass, sopInstance, transferSyntax, sourceAe)
                .getAttributeList();
        ByteArrayOutputStream out = new ByteArrayOutputStream(dataSet.length + 512);
        DicomOutputStream dos = new DicomOutputStream(out, TransferSyntax.ExplicitVRLittleEndian, null);
        meta.write(dos);
        dos.flush();
        out.write(dataSet);
        return out.toByteArray();
    }

    /** Stops accepting, ends open associations. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing
            }
            threads.shutdownNow();
        }
    }

    /** Collects one request message: command PDVs, then data PDVs when the command has a data set. */
    private static final class Request extends PublicReceivedDataHandler {
        private final ByteArrayOutputStream commandBytes = new ByteArrayOutputStream();
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();
        private AttributeList commandList;
        private int command;
        private byte contextId;
        private boolean expectData;

        @Override
        public void sendPDataIndication(PDataPDU pdu, Association association)
                throws DicomNetworkException, DicomException, IOException {
            for (Object o : pdu.getPDVList()) {
                PresentationDataValue pdv = (PresentationDataValue) o;
                contextId = pdv.getPresentationContextID();
                if (pdv.isCommand()) {
                    commandBytes.write(pdv.getValue());
                    if (pdv.isLastFragment()) {
                        commandList = new AttributeList();
                        commandList.read(new DicomInputStream(new ByteArrayInputStream(commandBytes.toByteArray()),
                                TransferSyntax.ImplicitVRLittleEndian, false));
                        command = com.pixelmed.dicom.Attribute.getSingleIntegerValueOrDefault(commandList,
                                TagFromName.CommandField, 0xFFFF);
                        int dataSetType = com.pixelmed.dicom.Attribute.getSingleIntegerValueOrDefault(commandList,
                                TagFromName.CommandDataSetType, 0x0101);
                        expectData = dataSetType != 0x0101;
                        if (!expectData) {
                            setDone(true);
                        }
                    }
                } else {
                    data.write(pdv.getValue());
                    if (pdv.isLastFragment()) {
                        setDone(true);
                    }
                }
            }
        }
    }
}
