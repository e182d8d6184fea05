/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package com.pixelmed.network;

/**
 * Makes PixelMed's {@link ReceivedDataHandler} extensible outside its package (its constructors are
 * package-private): medprep's C-STORE SCP ({@code org.medprep.net.StoreScp}) needs the presentation data values as
 * received and must answer each C-STORE with its own status, which none of PixelMed's public handlers allows
 * (PixelMed's Storage SCP writes to a folder and always answers Success). This class adds nothing else; it lives in
 * PixelMed's package inside our jar, which works because the NAR loads both jars with one class loader.
 */
public abstract class PublicReceivedDataHandler extends ReceivedDataHandler {

    protected PublicReceivedDataHandler() {
        super();
    }
}
