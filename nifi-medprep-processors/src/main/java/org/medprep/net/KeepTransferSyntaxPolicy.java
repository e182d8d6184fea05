/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.net;

import com.pixelmed.network.AnyExplicitTransferSyntaxSelectionPolicy;
import com.pixelmed.network.CompositeInstanceStoreAbstractSyntaxSelectionPolicy;
import com.pixelmed.network.PresentationContextSelectionPolicy;
import java.util.LinkedList;

/**
 * Which presentation contexts {@link StoreScp} accepts: every storage SOP class and Verification (PixelMed's
 * composite-instance abstract syntax policy) in any transfer syntax PixelMed knows, compressed ones included
 * (its any-explicit transfer syntax policy), <em>without</em> PixelMed's preference step that keeps only Explicit VR
 * Little Endian when a sender proposes several. A sender holding JPEG 2000 data then sends it as it is instead of
 * having to decompress it (dcmtk's storescu cannot, and fails the store).
 */
final class KeepTransferSyntaxPolicy implements PresentationContextSelectionPolicy {

    private final CompositeInstanceStoreAbstractSyntaxSelectionPolicy abstractSyntaxes =
            new CompositeInstanceStoreAbstractSyntaxSelectionPolicy();
    private final AnyExplicitTransferSyntaxSelectionPolicy transferSyntaxes = new AnyExplicitTransferSyntaxSelectionPolicy();

    @Override
    @SuppressWarnings("rawtypes")
    public LinkedList applyPresentationContextSelectionPolicy(LinkedList contexts, int associationNumber) {
        return transferSyntaxes.applyTransferSyntaxSelectionPolicy(
                abstractSyntaxes.applyAbstractSyntaxSelectionPolicy(contexts, associationNumber), associationNumber);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public LinkedList applyPresentationContextSelectionPolicy(LinkedList contexts, int associationNumber,
                                                              int debugLevel) {
        return applyPresentationContextSelectionPolicy(contexts, associationNumber);
    }
}
