/**
 * Student's t distribution: CDF and quantile (inverse CDF), for the confidence intervals of repeated cells
 * (metrics/repeats.ts). Exact to about 1e-12 relative: the CDF comes from the regularized incomplete beta function
 * (continued fraction, modified Lentz), the quantile from safeguarded Newton steps on that CDF, and degrees of
 * freedom 1 and 2 use their closed forms. test/metrics-repeats.test.ts checks it against 40-digit mpmath values.
 *
 * Deterministic: no Node.js APIs.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-15). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln Γ(x) − Stirling's (x − ½)·ln x − x + ½·ln 2π, for x ≥ 10 (its asymptotic series; error below 2e-14). */
function lnGammaCorrection(x: number): number {
  const x2 = 1 / (x * x);
  return (
    (1 / x) * (1 / 12 - x2 * (1 / 360 - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 * (1 / 1188 - x2 * (691 / 360360))))))
  );
}

/**
 * ln B(a, b). With a large argument lnΓ(a + b) − lnΓ(a) − lnΓ(b) would lose the digits the tail probability needs
 * (terms near 2600 for 1000 degrees of freedom), so the large parts are combined analytically first, as R's lbeta does.
 */
function lnBeta(a: number, b: number): number {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  if (p >= 10) {
    const corr = lnGammaCorrection(p) + lnGammaCorrection(q) - lnGammaCorrection(p + q);
    return (
      -0.5 * Math.log(q) +
      0.5 * Math.log(2 * Math.PI) +
      corr +
      (p - 0.5) * Math.log(p / (p + q)) +
      q * Math.log1p(-p / (p + q))
    );
  }
  if (q >= 10) {
    const corr = lnGammaCorrection(q) - lnGammaCorrection(p + q);
    return lnGamma(p) + corr + p - p * Math.log(p + q) + (q - 0.5) * Math.log1p(-p / (p + q));
  }
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) return h;
  }
  throw new Error(`incomplete beta: no convergence for a=${a}, b=${b}, x=${x}`);
}

/** The regularized incomplete beta function I_x(a, b), for a, b > 0 and x in [0, 1]. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = -lnBeta(a, b) + a * Math.log(x) + b * Math.log1p(-x);
  // The fraction converges fast for x < (a + 1)/(a + b + 2); use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) beyond.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df))
    throw new RangeError(`Student's t: degrees of freedom must be a positive number, got ${df}`);
}

/** P(T > t) for t ≥ 0: ½ · I_{ν/(ν+t²)}(ν/2, ½). */
function upperTail(t: number, df: number): number {
  return 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** P(T ≤ t) with ν = df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  return t >= 0 ? 1 - upperTail(t, df) : upperTail(-t, df);
}

/** Density of Student's t. */
export function studentTPdf(t: number, df: number): number {
  checkDf(df);
  // Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) = 1 / (√ν · B(ν/2, ½)), since Γ(½) = √π.
  const lnC = -lnBeta(df / 2, 0.5) - 0.5 * Math.log(df);
  return Math.exp(lnC - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/**
 * The quantile t_p,ν: the t with P(T ≤ t) = p. t(0.975, 2) = 4.302652729749464, t(0.975, 9) = 2.262157162798206.
 */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`Student's t quantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  // Solve upperTail(t) = q for t > 0, working with the small tail probability q to keep its digits.
  const q = 1 - p;
  let lo = 0;
  let hi = 1;
  while (upperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const f = upperTail(t, df) - q; // decreasing in t
    if (f === 0) return t;
    if (f > 0) lo = t;
    else hi = t;
    // Newton: d(upperTail)/dt = −pdf(t); fall back to bisection when the step leaves the bracket.
    let next = t + f / studentTPdf(t, df);
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-15 * Math.abs(next)) return next;
    t = next;
  }
  return t;
}
