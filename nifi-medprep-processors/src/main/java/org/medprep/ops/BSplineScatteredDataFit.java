/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Multilevel B-spline approximation of scattered data on a uniform control-point lattice, in any number of
 * dimensions, with a confidence weight per point: Lee, Wolberg &amp; Shin, "Scattered data interpolation with
 * multilevel B-splines", IEEE TVCG 3(3):228–244, 1997, with the per-point weights of Tustison &amp; Gee,
 * "Generalized n-D C^k B-spline scattered data approximation with confidence values" (Insight Journal, 2005),
 * as ITK 5.2's {@code BSplineScatteredDataPointSetToImageFilter} computes it (the fitter inside N4). Evaluation
 * of a lattice on a regular grid follows ITK's {@code BSplineControlPointImageFilter}.
 *
 * <p><b>Parametric domain.</b> Dimension d has {@code n_d} control points and {@code spans_d = n_d − order}
 * polynomial spans. A point is given by normalized coordinates {@code t_d ∈ [0, 1]} (0 = the domain's first
 * sample, 1 = its last) and sits at {@code p_d = t_d · spans_d}. Control point {@code c} carries the centred
 * B-spline {@code B(p − c + (order − 1)/2)}, so the {@code order + 1} control points
 * {@code floor(p) .. floor(p) + order} act at p. A point exactly on the upper end is moved inside by ITK's rule
 * {@code p = spans − ε·spans} with {@code ε} the caller's per-dimension tolerance (ITK:
 * {@code 10⁻³/(samples − 1)} for a domain of {@code samples} grid samples); a point outside [0, 1] is an error.
 *
 * <p><b>One level</b> (Lee et al. eq. 3–5 with weights): for each point with value z and weight w, with tensor
 * weights {@code B_c} of its {@code (order+1)^D} control points and {@code S = Σ B_c²},
 * {@code δ_c += w·B_c³·z/S} and {@code ω_c += w·B_c²}; then {@code φ_c = δ_c/ω_c} (0 where ω_c = 0).
 * <b>Several levels</b>: after each level the lattice ψ (sum of the earlier levels) is refined to the doubled
 * mesh (n → 2n − order control points, an exact B-spline subdivision, {@link #refine}), the next level fits the
 * residuals of the points, and the levels' lattices are summed — ITK's multilevel scheme.
 *
 * <p><b>Orders</b> 1, 2 and 3 (linear, quadratic, cubic); N4 uses 3. <b>Layout</b>: a lattice's coefficients are
 * one flat array, dimension 0 fastest (x, then y, then z: the {@link org.medprep.image.Image} order).
 *
 * <p><b>Threads and determinism</b>: {@code threads} ≤ 1 runs on the calling thread; more runs on the common
 * ForkJoin pool (all cores). The points are accumulated in a fixed number of chunks (independent of the thread
 * count), and the chunks are summed in order; grid evaluation computes every sample by the same operations on any
 * thread. Results are therefore bit-identical for every thread count.
 */
public final class BSplineScatteredDataFit {

    /** ITK's {@code m_BSplineEpsilon}: points this close (in spans, relative to a sample step) to the end move in. */
    public static final double ITK_EPSILON = 1e-3;

    /** Number of chunks the points are accumulated in (fixed, so the sums do not depend on the thread count). */
    private static final int CHUNKS = 32;

    /** Largest points × (order+1)^D for which a {@link LevelFitter} keeps each point's factors (32 MB). */
    public static final int PREPARED_LIMIT = 1 << 22;

    private BSplineScatteredDataFit() {
    }

    /**
     * A control-point lattice.
     *
     * @param size         control points per dimension (dimension 0 first), each &gt; order
     * @param order        spline order (1..3)
     * @param coefficients one value per control point, dimension 0 fastest (the live array: not copied)
     */
    public record Lattice(int[] size, int order, double[] coefficients) {

        public Lattice {
            checkOrder(order);
            long n = 1;
            for (int s : size) {
                if (s <= order) {
                    throw new IllegalArgumentException("a lattice of order " + order + " needs more than " + order
                            + " control points per dimension, got " + Arrays.toString(size));
                }
                n *= s;
            }
            if (coefficients.length != n) {
                throw new IllegalArgumentException("lattice " + Arrays.toString(size) + " needs " + n
                        + " coefficients, got " + coefficients.length);
            }
            size = size.clone();
        }

        /** A lattice of zeros. */
        public static Lattice zeros(int[] size, int order) {
            long n = 1;
            for (int s : size) {
                n *= s;
            }
            return new Lattice(size, order, new double[(int) n]);
        }

        @Override
        public int[] size() {
            return size.clone();
        }

        public int dimensions() {
            return size.length;
        }

        /** Polynomial spans along dimension d: size − order. */
        public int spans(int d) {
            return size[d] - order;
        }

        /** This lattice plus {@code other} (same size and order), coefficient by coefficient. */
        public Lattice plus(Lattice other) {
            if (!Arrays.equals(size, other.size) || order != other.order) {
                throw new IllegalArgumentException("lattices differ in size or order");
            }
            double[] c = coefficients.clone();
            for (int i = 0; i < c.length; i++) {
                c[i] += other.coefficients[i];
            }
            return new Lattice(size, order, c);
        }
    }

    /**
     * Runs {@code body} over [0, count) in contiguous ranges: on the calling thread when threads ≤ 1, else split in
     * up to 4·threads ranges on the common ForkJoin pool (no pool is created per call: N4 calls this twice per
     * iteration). Bodies write disjoint outputs, so the split never changes a result.
     */
    static void parallelFor(int count, int threads, Resample.RangeBody body) {
        int parts = threads <= 1 ? 1 : Math.min(count, 4 * threads);
        if (parts <= 1) {
            body.run(0, count);
            return;
        }
        IntStream.range(0, parts).parallel().forEach(k -> body.run((int) ((long) count * k / parts),
                (int) ((long) count * (k + 1) / parts)));
    }

    /** The centred B-spline of {@code order} (1..3) at v (ITK's BSplineKernelFunction). */
    static double kernel(int order, double v) {
        double a = Math.abs(v);
        switch (order) {
            case 1:
                return a < 1 ? 1 - a : 0;
            case 2:
                if (a < 0.5) {
                    return 0.75 - a * a;
                }
                return a < 1.5 ? 0.5 * (1.5 - a) * (1.5 - a) : 0;
            case 3:
                if (a < 1) {
                    return (4 - 6 * a * a + 3 * a * a * a) / 6;
                }
                return a < 2 ? (2 - a) * (2 - a) * (2 - a) / 6 : 0;
            default:
                throw new IllegalArgumentException("spline order must be 1, 2 or 3, got " + order);
        }
    }

    private static void checkOrder(int order) {
        if (order < 1 || order > 3) {
            throw new IllegalArgumentException("spline order must be 1, 2 or 3, got " + order);
        }
    }

    /**
     * The span position {@code p = t·spans} of a normalized coordinate, moved inside [0, spans) by ITK's rule.
     *
     * @throws IllegalArgumentException when t lies outside the domain
     */
    static double position(double t, int spans, double epsilon) {
        double p = t * spans;
        double eps = epsilon * spans;
        if (Math.abs(p - spans) <= eps) {
            p = spans - eps;
        }
        if (p < 0 && Math.abs(p) <= eps) {
            p = 0;
        }
        if (!(p >= 0 && p < spans)) {
            throw new IllegalArgumentException("point coordinate " + t + " lies outside the parametric domain [0, 1]");
        }
        return p;
    }

    /**
     * The grid position of sample i of n over {@code spans} spans, as ITK's BSplineControlPointImageFilter:
     * {@code p = spans·i/(n − 1)}, the last sample moved in by {@code 10⁻³·spans/(n − 1)}.
     */
    static double gridPosition(int i, int n, int spans) {
        double p = (double) spans * i / (n - 1);
        double eps = (double) spans / (n - 1) * ITK_EPSILON;
        if (Math.abs(p - spans) <= eps) {
            p = spans - eps;
        }
        return p;
    }

    /** Weights of the order + 1 control points floor(p) .. floor(p) + order at span position p. */
    private static void weights(int order, double p, double[] w, int off) {
        double f = p - Math.floor(p);
        double shift = 0.5 * (order - 1);
        for (int k = 0; k <= order; k++) {
            w[off + k] = kernel(order, f - k + shift);
        }
    }

    /**
     * Fits a lattice to scattered points: ITK's BSplineScatteredDataPointSetToImageFilter.
     *
     * @param t             normalized coordinates, D per point (point-major): point i's dimension d at
     *                      {@code t[i·D + d]}, each in [0, 1]
     * @param values        one value per point
     * @param weights       one confidence weight (≥ 0) per point, or null for all 1
     * @param epsilon       per dimension, the end tolerance (see the class comment; ITK: {@code 10⁻³/(samples−1)})
     * @param controlPoints control points per dimension at the first level, each &gt; order
     * @param order         spline order, 1..3
     * @param levels        levels per dimension (≥ 1); a dimension's mesh doubles at each level below its count
     * @param threads       threads to use (results are identical for any count)
     * @return the fitted lattice (of the last level's size)
     */
    public static Lattice fit(double[] t, double[] values, double[] weights, double[] epsilon, int[] controlPoints,
                              int order, int[] levels, int threads) {
        checkOrder(order);
        int dims = controlPoints.length;
        if (dims < 1 || levels.length != dims || epsilon.length != dims || t.length != values.length * dims
                || (weights != null && weights.length != values.length)) {
            throw new IllegalArgumentException("fit: coordinates, values, weights, epsilon, control points and "
                    + "levels disagree in count");
        }
        int maxLevels = 1;
        for (int d = 0; d < dims; d++) {
            if (levels[d] < 1) {
                throw new IllegalArgumentException("the number of levels must be at least 1");
            }
            maxLevels = Math.max(maxLevels, levels[d]);
        }
        int[] size = controlPoints.clone();
        Lattice phi = fitLevel(t, values, weights, epsilon, size, order, threads);
        if (maxLevels == 1) {
            return phi;
        }
        double[] residual = values.clone();
        Lattice psi = Lattice.zeros(size, order);
        for (int level = 1; level < maxLevels; level++) {
            psi = psi.plus(phi);
            boolean[] refineDim = new boolean[dims];
            for (int d = 0; d < dims; d++) {
                refineDim[d] = level < levels[d];
            }
            double[] fitted = evaluate(phi, t, epsilon, threads);
            for (int i = 0; i < residual.length; i++) {
                residual[i] -= fitted[i];
            }
            psi = refine(psi, refineDim);
            phi = fitLevel(t, residual, weights, epsilon, psi.size(), order, threads);
        }
        return psi.plus(phi);
    }

    /**
     * One level of the weighted fit on a lattice of {@code size} control points (Lee et al. 1997 with confidence
     * weights). Same as {@code new LevelFitter(t, weights, epsilon, size, order, threads).fit(values, threads)}.
     */
    public static Lattice fitLevel(double[] t, double[] values, double[] weights, double[] epsilon, int[] size,
                                   int order, int threads) {
        if (t.length != values.length * size.length) {
            throw new IllegalArgumentException("fit: coordinates and values disagree in count");
        }
        return new LevelFitter(t, weights, epsilon, size, order, threads).fit(values, threads);
    }

    /**
     * One level of the weighted fit for fixed points, weights and lattice size, fitted to any number of value
     * sets (N4 fits a new residual at every iteration of a level). Everything that does not depend on the values
     * is computed once: each point's first control point, and — when the points × (order+1)^D weights fit in
     * {@value #PREPARED_LIMIT} doubles — each point's factors {@code w·B_c³/S}, and the denominators ω. A fit is
     * then {@code δ_c = Σ z·w·B_c³/S}, {@code φ_c = δ_c/ω_c}, summed in the same fixed chunks either way, so the
     * prepared and the on-the-fly paths give identical bits.
     */
    public static final class LevelFitter {
        private final int dims;
        private final int order;
        private final int[] size;
        private final int n;
        private final int chunks;
        private final int neighbours;
        private final int latticeCount;
        private final int[] stride;
        private final double[] t;
        private final double[] weights;
        private final double[] epsilon;
        private final int[] first;
        private final double[] factors;
        private final double[] omega;

        /**
         * @param t       normalized coordinates, D per point (see {@link #fit})
         * @param weights confidence weights or null for 1
         * @param epsilon per-dimension end tolerance
         * @param size    control points per dimension (each &gt; order)
         * @param order   spline order 1..3
         * @param threads threads for the preparation
         */
        public LevelFitter(double[] t, double[] weights, double[] epsilon, int[] size, int order, int threads) {
            this(t, weights, epsilon, size, order, threads, PREPARED_LIMIT);
        }

        /** As above, keeping the factors only when points × (order+1)^D ≤ {@code limit} (tests use 0). */
        LevelFitter(double[] t, double[] weights, double[] epsilon, int[] size, int order, int threads, long limit) {
            checkOrder(order);
            this.dims = size.length;
            this.order = order;
            this.size = size.clone();
            this.n = t.length / dims;
            if (t.length != n * dims || epsilon.length != dims || (weights != null && weights.length != n)) {
                throw new IllegalArgumentException("fit: coordinates, weights and epsilon disagree in count");
            }
            this.t = t;
            this.weights = weights;
            this.epsilon = epsilon.clone();
            int count = 1;
            stride = new int[dims];
            int nb = 1;
            for (int d = 0; d < dims; d++) {
                if (size[d] <= order) {
                    throw new IllegalArgumentException("the number of control points must exceed the spline order");
                }
                stride[d] = count;
                count *= size[d];
                nb *= order + 1;
            }
            this.latticeCount = count;
            this.neighbours = nb;
            this.chunks = Math.max(1, Math.min(CHUNKS, n));
            this.first = new int[n];
            boolean prepare = (long) n * nb <= limit;
            this.factors = prepare ? new double[n * nb] : null;
            double[][] omegaPart = new double[chunks][];
            parallelFor(chunks, threads, (from, to) -> prepare(from, to, omegaPart));
            omega = new double[latticeCount];
            for (int c = 0; c < chunks; c++) {
                for (int j = 0; j < latticeCount; j++) {
                    omega[j] += omegaPart[c][j];
                }
            }
        }

        /** Chunks [from, to): first control points, factors, partial ω. */
        private void prepare(int from, int to, double[][] omegaPart) {
            int nb = neighbours;
            {
                Scratch s = new Scratch(dims, order, nb);
                for (int c = from; c < to; c++) {
                    double[] om = new double[latticeCount];
                    for (int i = chunkStart(c); i < chunkStart(c + 1); i++) {
                        double wc = weights == null ? 1 : weights[i];
                        double s2 = point(i, s);
                        first[i] = s.offs[0];
                        for (int m = 0; m < nb; m++) {
                            double bm = s.b[m];
                            double b2 = bm * bm;
                            om[s.offs[m]] += wc * b2;
                            if (factors != null) {
                                factors[i * nb + m] = b2 * bm * wc / s2;
                            }
                        }
                    }
                    omegaPart[c] = om;
                }
            }
        }

        private int chunkStart(int c) {
            return (int) ((long) n * c / chunks);
        }

        /** Per-thread work arrays. */
        private static final class Scratch {
            final double[] w;
            final int[] base;
            final double[] b;
            final int[] offs;

            Scratch(int dims, int order, int nb) {
                w = new double[dims * (order + 1)];
                base = new int[dims];
                b = new double[nb];
                offs = new int[nb];
            }
        }

        /** Fills the scratch with point i's tensor weights and offsets; returns Σ B². */
        private double point(int i, Scratch s) {
            int k1 = order + 1;
            for (int d = 0; d < dims; d++) {
                double p = position(t[i * dims + d], size[d] - order, epsilon[d]);
                s.base[d] = (int) Math.floor(p);
                BSplineScatteredDataFit.weights(order, p, s.w, d * k1);
            }
            return tensor(dims, k1, s.w, s.base, stride, s.b, s.offs);
        }

        /** The lattice fitted to {@code values} (one per point). */
        public Lattice fit(double[] values, int threads) {
            if (values.length != n) {
                throw new IllegalArgumentException("fit: " + values.length + " values for " + n + " points");
            }
            int nb = neighbours;
            int[] rel = new int[nb];
            {
                Scratch s = new Scratch(dims, order, nb);
                if (n > 0) {
                    point(0, s);
                    for (int m = 0; m < nb; m++) {
                        rel[m] = s.offs[m] - s.offs[0];
                    }
                }
            }
            double[][] delta = new double[chunks][];
            parallelFor(chunks, threads, (from, to) -> {
                Scratch s = factors == null ? new Scratch(dims, order, nb) : null;
                for (int c = from; c < to; c++) {
                    double[] dl = new double[latticeCount];
                    for (int i = chunkStart(c); i < chunkStart(c + 1); i++) {
                        double z = values[i];
                        int f0 = first[i];
                        if (factors != null) {
                            int fo = i * nb;
                            for (int m = 0; m < nb; m++) {
                                dl[f0 + rel[m]] += z * factors[fo + m];
                            }
                        } else {
                            double wc = weights == null ? 1 : weights[i];
                            double s2 = point(i, s);
                            for (int m = 0; m < nb; m++) {
                                double bm = s.b[m];
                                dl[s.offs[m]] += z * (bm * bm * bm * wc / s2);
                            }
                        }
                    }
                    delta[c] = dl;
                }
            });
            double[] phi = new double[latticeCount];
            for (int c = 0; c < chunks; c++) {
                for (int j = 0; j < latticeCount; j++) {
                    phi[j] += delta[c][j];
                }
            }
            for (int j = 0; j < latticeCount; j++) {
                double v = omega[j] != 0 ? phi[j] / omega[j] : 0;
                phi[j] = Double.isFinite(v) ? v : 0;
            }
            return new Lattice(size, order, phi);
        }
    }

    /**
     * Tensor-product weights of one point: fills b[m] and the lattice offsets offs[m] of its (order+1)^D control
     * points, and returns Σ b².
     */
    private static double tensor(int dims, int k1, double[] w, int[] base, int[] stride, double[] b, int[] offs) {
        int count = 1;
        b[0] = 1;
        int off0 = 0;
        for (int d = 0; d < dims; d++) {
            off0 += base[d] * stride[d];
        }
        offs[0] = off0;
        for (int d = 0; d < dims; d++) {
            // expand the existing `count` entries by the k1 weights of dimension d (dimension 0 fastest)
            for (int k = k1 - 1; k >= 0; k--) {
                double wk = w[d * k1 + k];
                int shift = k * stride[d];
                for (int m = 0; m < count; m++) {
                    b[k * count + m] = b[m] * wk;
                    offs[k * count + m] = offs[m] + shift;
                }
            }
            count *= k1;
        }
        double s2 = 0;
        for (int m = 0; m < count; m++) {
            s2 += b[m] * b[m];
        }
        return s2;
    }

    /** The lattice's values at scattered points (normalized coordinates as in {@link #fit}). */
    public static double[] evaluate(Lattice lattice, double[] t, double[] epsilon, int threads) {
        int dims = lattice.dimensions();
        int order = lattice.order();
        int[] size = lattice.size;
        int k1 = order + 1;
        int n = t.length / dims;
        int[] stride = new int[dims];
        int nb = 1;
        int s = 1;
        for (int d = 0; d < dims; d++) {
            stride[d] = s;
            s *= size[d];
            nb *= k1;
        }
        int neighbours = nb;
        double[] out = new double[n];
        double[] coef = lattice.coefficients;
        parallelFor(n, threads, (from, to) -> {
            double[] w = new double[dims * k1];
            int[] base = new int[dims];
            double[] b = new double[neighbours];
            int[] offs = new int[neighbours];
            for (int i = from; i < to; i++) {
                for (int d = 0; d < dims; d++) {
                    double p = position(t[i * dims + d], size[d] - order, epsilon[d]);
                    base[d] = (int) Math.floor(p);
                    weights(order, p, w, d * k1);
                }
                tensor(dims, k1, w, base, stride, b, offs);
                double v = 0;
                for (int m = 0; m < neighbours; m++) {
                    v += b[m] * coef[offs[m]];
                }
                out[i] = v;
            }
        });
        return out;
    }

    /**
     * Refines a lattice to the doubled mesh along the flagged dimensions (n → 2n − order control points), an
     * exact subdivision: the refined lattice describes the same function. The subdivision mask of the centred
     * uniform B-spline of order k is {@code 2^−k·C(k+1, j)}, j = 0..k+1; coarse control point c contributes to
     * fine control point {@code 2c + j − k} (those outside the refined lattice carry no part of the domain).
     * Same result as ITK's {@code RefineControlPointLattice}.
     */
    public static Lattice refine(Lattice lattice, boolean[] refineDim) {
        int dims = lattice.dimensions();
        int order = lattice.order();
        double[] mask = new double[order + 2];
        double binom = 1;
        for (int j = 0; j <= order + 1; j++) {
            mask[j] = binom / (1 << order);
            binom = binom * (order + 1 - j) / (j + 1);
        }
        int[] size = lattice.size();
        double[] c = lattice.coefficients.clone();
        for (int d = 0; d < dims; d++) {
            if (!refineDim[d]) {
                continue;
            }
            int n = size[d];
            int n2 = 2 * n - order;
            int inner = 1;
            for (int e = 0; e < d; e++) {
                inner *= size[e];
            }
            int outer = c.length / (inner * n);
            double[] r = new double[inner * n2 * outer];
            for (int o = 0; o < outer; o++) {
                for (int a = 0; a < n; a++) {
                    int src = (o * n + a) * inner;
                    for (int j = 0; j <= order + 1; j++) {
                        int f = 2 * a + j - order;
                        if (f < 0 || f >= n2) {
                            continue;
                        }
                        int dst = (o * n2 + f) * inner;
                        double m = mask[j];
                        for (int q = 0; q < inner; q++) {
                            r[dst + q] += m * c[src + q];
                        }
                    }
                }
            }
            c = r;
            size[d] = n2;
        }
        return new Lattice(size, order, c);
    }

    /**
     * Evaluates the lattice on a regular grid of {@code grid} samples per dimension spanning the whole domain
     * (sample i of n at {@code t = i/(n − 1)}), as ITK's BSplineControlPointImageFilter reconstructs an image:
     * separable, the last dimension collapsed first. Each grid dimension needs at least 2 samples.
     *
     * @param out receives the values, dimension 0 fastest (length Π grid)
     */
    public static void evaluateGrid(Lattice lattice, int[] grid, double[] out, int threads) {
        evaluateGrid(lattice, grid, (i, v) -> out[i] = v, threads);
    }

    /** As {@link #evaluateGrid(Lattice, int[], double[], int)}, stored as float32. */
    public static void evaluateGrid(Lattice lattice, int[] grid, float[] out, int threads) {
        evaluateGrid(lattice, grid, (i, v) -> out[i] = (float) v, threads);
    }

    @FunctionalInterface
    private interface Sink {
        void put(int index, double value);
    }

    private static void evaluateGrid(Lattice lattice, int[] grid, Sink sink, int threads) {
        int dims = lattice.dimensions();
        if (grid.length != dims) {
            throw new IllegalArgumentException("grid and lattice differ in dimensions");
        }
        int order = lattice.order();
        int k1 = order + 1;
        int[][] base = new int[dims][];
        double[][] w = new double[dims][];
        int[] latStride = new int[dims + 1];
        int[] gridStride = new int[dims + 1];
        latStride[0] = 1;
        gridStride[0] = 1;
        for (int d = 0; d < dims; d++) {
            int n = grid[d];
            if (n < 2) {
                throw new IllegalArgumentException("every grid dimension needs at least 2 samples, got "
                        + Arrays.toString(grid));
            }
            int spans = lattice.spans(d);
            base[d] = new int[n];
            w[d] = new double[n * k1];
            for (int i = 0; i < n; i++) {
                double p = gridPosition(i, n, spans);
                base[d][i] = (int) Math.floor(p);
                weights(order, p, w[d], i * k1);
            }
            latStride[d + 1] = latStride[d] * lattice.size[d];
            gridStride[d + 1] = gridStride[d] * n;
        }
        double[] coef = lattice.coefficients;
        int top = dims - 1;
        parallelFor(grid[top], threads, (from, to) -> {
            double[][] scratch = new double[dims][];
            for (int d = 0; d < dims; d++) {
                scratch[d] = new double[latStride[d]];
            }
            for (int i = from; i < to; i++) {
                collapseAndRecurse(top, i, coef, base, w, k1, latStride, gridStride, grid, scratch, 0, sink);
            }
        });
    }

    /** Collapses dimension d of {@code coef} at grid index i, then evaluates the lower dimensions. */
    private static void collapseAndRecurse(int d, int i, double[] coef, int[][] base, double[][] w, int k1,
                                           int[] latStride, int[] gridStride, int[] grid, double[][] scratch,
                                           int outOffset, Sink sink) {
        int inner = latStride[d];
        int b = base[d][i];
        double[] col = scratch[d];
        Arrays.fill(col, 0);
        for (int k = 0; k < k1; k++) {
            double wk = w[d][i * k1 + k];
            int src = (b + k) * inner;
            for (int q = 0; q < inner; q++) {
                col[q] += wk * coef[src + q];
            }
        }
        int off = outOffset + i * gridStride[d];
        if (d == 0) {
            sink.put(off, col[0]);
            return;
        }
        if (d == 1) {
            // the innermost line, inline: sample x sums the k1 coefficients from base[0][x]
            int[] b0 = base[0];
            double[] w0 = w[0];
            for (int x = 0; x < grid[0]; x++) {
                int bx = b0[x];
                double v = 0;
                for (int k = 0; k < k1; k++) {
                    v += w0[x * k1 + k] * col[bx + k];
                }
                sink.put(off + x, v);
            }
            return;
        }
        for (int j = 0; j < grid[d - 1]; j++) {
            collapseAndRecurse(d - 1, j, col, base, w, k1, latStride, gridStride, grid, scratch, off, sink);
        }
    }
}
