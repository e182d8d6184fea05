/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

/**
 * In-place iterative radix-2 Cooley–Tukey FFT of a complex sequence whose length is a power of two (Cooley &amp;
 * Tukey, Math. Comp. 19:297–301, 1965): the discrete Fourier transform
 * {@code X[k] = Σ_n x[n]·exp(∓2πi·nk/N)}, forward with the minus sign, inverse with the plus sign and
 * <em>unnormalized</em> (as vnl's {@code vnl_fft_1d} that ITK's N4 uses: inverse(forward(x)) = N·x). For the
 * few-hundred-bin histograms of {@link N4BiasField}.
 */
public final class Radix2Fft {

    private Radix2Fft() {
    }

    /** Forward transform of (re, im) in place. */
    public static void forward(double[] re, double[] im) {
        transform(re, im, -1);
    }

    /** Unnormalized inverse transform of (re, im) in place. */
    public static void inverse(double[] re, double[] im) {
        transform(re, im, +1);
    }

    private static void transform(double[] re, double[] im, int sign) {
        int n = re.length;
        if (im.length != n || n < 1 || (n & (n - 1)) != 0) {
            throw new IllegalArgumentException("FFT length must be a power of two, got " + n);
        }
        for (int i = 1, j = 0; i < n; i++) {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) {
                j ^= bit;
            }
            j ^= bit;
            if (i < j) {
                double t = re[i];
                re[i] = re[j];
                re[j] = t;
                t = im[i];
                im[i] = im[j];
                im[j] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            double ang = sign * 2 * Math.PI / len;
            int half = len >> 1;
            for (int k = 0; k < half; k++) {
                double wr = Math.cos(ang * k);
                double wi = Math.sin(ang * k);
                for (int i = k; i < n; i += len) {
                    int j = i + half;
                    double xr = re[j] * wr - im[j] * wi;
                    double xi = re[j] * wi + im[j] * wr;
                    re[j] = re[i] - xr;
                    im[j] = im[i] - xi;
                    re[i] += xr;
                    im[i] += xi;
                }
            }
        }
    }
}
