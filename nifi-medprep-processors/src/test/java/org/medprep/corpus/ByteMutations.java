/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Format-blind mutations: truncation and bit flips, biased towards the header where readers decide most. */
final class ByteMutations {

    private ByteMutations() {
    }

    /**
     * The first n bytes: n is one of the format's landmark offsets (0, 1, ends of preambles and headers, one byte
     * short of the end, half) a third of the time, a position in the first KiB a third, anywhere otherwise.
     */
    static Change truncate(byte[] b, SplittableRandom r, int... landmarks) {
        int n;
        int pick = r.nextInt(3);
        if (pick == 0) {
            int[] marks = Arrays.copyOf(landmarks, landmarks.length + 4);
            marks[landmarks.length] = 0;
            marks[landmarks.length + 1] = 1;
            marks[landmarks.length + 2] = b.length - 1;
            marks[landmarks.length + 3] = b.length / 2;
            n = marks[r.nextInt(marks.length)];
            n = Math.max(0, Math.min(b.length - 1, n + r.nextInt(-2, 3)));
        } else if (pick == 1) {
            n = r.nextInt(Math.min(b.length, 1024));
        } else {
            n = r.nextInt(b.length);
        }
        return new Change(Arrays.copyOf(b, n), "truncated to " + n + " of " + b.length + " bytes");
    }

    /** 1 to 16 bits flipped, within [from, to) (clipped to the file). */
    static Change flip(byte[] b, SplittableRandom r, int from, int to) {
        byte[] c = b.clone();
        int lo = Math.max(0, Math.min(from, b.length - 1));
        int hi = Math.max(lo + 1, Math.min(to, b.length));
        int k = 1 + r.nextInt(r.nextBoolean() ? 2 : 16);
        StringBuilder where = new StringBuilder();
        for (int i = 0; i < k; i++) {
            int at = r.nextInt(lo, hi);
            int bit = r.nextInt(8);
            c[at] ^= (byte) (1 << bit);
            if (i < 4) {
                where.append(i == 0 ? "" : ",").append(at).append('.').append(bit);
            }
        }
        return new Change(c, k + " bit(s) flipped at " + where + (k > 4 ? ",..." : ""));
    }

    /** Bit flips in the first KiB half the time, anywhere otherwise. */
    static Change flip(byte[] b, SplittableRandom r) {
        return r.nextBoolean() ? flip(b, r, 0, 1024) : flip(b, r, 0, b.length);
    }

    /** One of the usual suspects for a length field of {@code width} bytes whose value is {@code v}. */
    static long lengthValue(SplittableRandom r, long v, int width, long fileLength) {
        long max = width == 2 ? 0xFFFFL : 0xFFFFFFFFL;
        long[] candidates = {0, 1, 2, 3, v - 1, v + 1, v * 2, v / 2, max, max - 1, width == 2 ? 0x7FFF : 0x7FFFFFFF,
                width == 2 ? 0x8000 : 0x80000000L, fileLength, fileLength + 1, v + 0x100, r.nextLong(max + 1)};
        return candidates[r.nextInt(candidates.length)] & max;
    }

    /** An element of {@code values} chosen by {@code r}. */
    static <T> T pick(SplittableRandom r, T[] values) {
        return values[r.nextInt(values.length)];
    }

    static int pick(SplittableRandom r, int[] values) {
        return values[r.nextInt(values.length)];
    }

    static double pick(SplittableRandom r, double[] values) {
        return values[r.nextInt(values.length)];
    }
}
