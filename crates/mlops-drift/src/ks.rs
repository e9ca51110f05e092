//! The two-sample Kolmogorov-Smirnov test, with the p-value scipy's `ks_2samp` gives
//! (`method="auto"`, two-sided): exact when neither sample has more than 10,000 values, otherwise
//! the distribution of the one-sample statistic `D_n` at `n = round(m n / (m + n))`, computed by
//! the algorithms scipy's `kstwo.sf` chooses between (Simard and L'Ecuyer's selection).
//!
//! References: Hodges (1958) and Viehmann (2021) for the exact two-sample count; Durbin (1968) with
//! Marsaglia, Tsang and Wang (2003), Pomeranz (1974), Pelz and Good (1976), and Birnbaum and
//! Tingey (1951) for the one-sample distribution.

#![expect(
    clippy::many_single_char_names,
    reason = "the formulas' own names: samples a and b, sizes m and n, d, h, k, x"
)]

use std::f64::consts::PI;

/// Samples up to this size get the exact p-value.
const MAX_EXACT: usize = 10_000;

/// The statistic and its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// The largest distance between the empirical distribution functions of two sorted samples of
/// finite values, and its p-value. Both samples must be non-empty.
///
/// # Panics
/// When a sample is empty.
pub fn two_sample(a: &[f64], b: &[f64]) -> KsResult {
    assert!(
        !a.is_empty() && !b.is_empty(),
        "KS needs two non-empty samples"
    );
    let d = statistic(a, b);
    let (n1, n2) = (a.len(), b.len());
    let p_value = if n1.max(n2) <= MAX_EXACT {
        exact_p_value(n1, n2, d)
    } else {
        #[expect(clippy::cast_precision_loss, reason = "sample sizes fit an f64")]
        let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
        let en = (m * n / (m + n)).round_ties_even();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive count"
        )]
        kolmogorov_sf(en as u64, d)
    };
    KsResult {
        statistic: d,
        p_value: p_value.clamp(0.0, 1.0),
    }
}

/// `max |F_a(x) - F_b(x)|` over the values of both samples.
#[expect(clippy::cast_precision_loss, reason = "sample sizes fit an f64")]
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let (mut above, mut below) = (0.0f64, 0.0f64);
    while i < a.len() || j < b.len() {
        // The next distinct value, and both CDFs just after it.
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) | (None, Some(&x)) => x,
            (None, None) => unreachable!("the loop condition"),
        };
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        above = above.max(diff);
        below = below.max(-diff);
    }
    above.max(below).clamp(0.0, 1.0)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The exact probability of a distance at least `d` between samples of `n1` and `n2` values.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "lattice sizes are small integers"
)]
fn exact_p_value(n1: usize, n2: usize, d: f64) -> f64 {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    // The statistic is a multiple of 1/lcm; round away its floating-point dust.
    let h = (d * lcm as f64).round_ties_even() as usize;
    if h == 0 {
        return 1.0;
    }
    if n1 == n2 {
        outside_square(n1, h)
    } else {
        outside_band(n1, n2, g, h)
    }
}

/// Equal sample sizes: `P(D >= h/n) = 2 (A0 - A0 A1 + A0 A1 A2 - ...)` with each `A_k` a ratio of
/// binomial coefficients, evaluated from the innermost term outwards to avoid cancellation.
#[expect(clippy::cast_precision_loss, reason = "small integers")]
fn outside_square(n: usize, h: usize) -> f64 {
    let mut p = 0.0;
    for k in (0..=n / h).rev() {
        let mut term = 1.0;
        for j in 0..h {
            // n - k h - j may go negative for the last k; as a float it then zeroes the term.
            let top = n as f64 - (k * h + j) as f64;
            term = top * term / ((n + k * h + j + 1) as f64);
        }
        p = term * (1.0 - p);
    }
    2.0 * p
}

/// Unequal sample sizes: the share of monotone lattice paths from (0, 0) to (m, n) that leave the
/// band `|x/m - y/n| < h / lcm`, carried column by column as the complement (Viehmann's
/// recursion), which stays accurate for small p-values.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "lattice coordinates are small integers"
)]
fn outside_band(m: usize, n: usize, g: usize, h: usize) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (h, n_i) = (h as i64, n as i64);
    let mut lo: i64 = 0;
    let mut hi: i64 = (h + mg - 1).div_euclid(mg).min(n_i + 1);
    let mut width = hi - lo;
    let capacity = (2 * hi + 2).min(n_i + 1) as usize;
    let mut column = vec![1.0f64; capacity.max(1)];
    for slot in column.iter_mut().take(hi as usize) {
        *slot = 0.0;
    }
    for i in 1..=(m as i64) {
        let (last_lo, last_width) = (lo, width);
        lo = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n_i);
        hi = (-(-(ng * i + h)).div_euclid(mg)).min(n_i + 1);
        if hi <= lo {
            return 1.0;
        }
        let mut value = if lo == 0 { 0.0 } else { 1.0 };
        for offset in 0..(hi - lo) {
            let j = offset + lo;
            let previous = column[(offset + lo - last_lo) as usize];
            value = (previous * i as f64 + value * j as f64) / ((i + j) as f64);
            column[offset as usize] = value;
        }
        width = hi - lo;
        if last_width > width {
            for slot in &mut column[width as usize..(width + last_width - width) as usize] {
                *slot = 1.0;
            }
        }
    }
    column[(hi - lo - 1) as usize]
}

/// `2^128` and its inverse: the scale factors the matrix and recursion methods rescale by.
const SCALE: f64 = 3.402_823_669_209_385e38;
const SCALE_EXPONENT: i32 = 128;

/// `P(D_n >= x)` for the two-sided one-sample statistic, as scipy's `kstwo.sf(x, n)`.
#[expect(clippy::cast_precision_loss, reason = "n is a sample size")]
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        // Ruben and Gambino: 1/2n <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nx2 = t * x;
    if n <= 140 {
        if nx2 <= 0.754_693 {
            return clip(1.0 - durbin_cdf(n, x));
        }
        if nx2 <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nx2 >= 370.0 {
        return 0.0;
    }
    if nx2 >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if nx2 >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(nf, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `ln(n! / n^n)` by Stirling's series, with `n ln n` taken out to avoid cancellation.
fn log_factorial_over_power(n: f64) -> f64 {
    // B_2j / (2j (2j - 1)) for j = 8 down to 1.
    const STIRLING: [f64; 8] = [
        -3617.0 / 122_400.0,
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let rn = 1.0 / n;
    let series = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * series
}

/// `P(D_n <= d)` by Durbin's matrix method as Marsaglia, Tsang and Wang compute it: the k-th
/// diagonal entry of `H^n` times `n!/n^n`, with `d = (k - h)/n`, rescaling as the power grows.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "k and m are small matrix sizes"
)]
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // v: the first column (and, reversed, the last row); w[j] = 1/j!.
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut factorial = 1.0;
    for j in 1..=m {
        w[j - 1] = factorial;
        factorial /= j as f64;
        v[j - 1] *= factorial;
    }
    let tail = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tail) * factorial;
    let mut matrix = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            matrix[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        matrix[r * m] = v[r];
    }
    for c in 0..m {
        matrix[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut power = identity(m);
    let (mut exponent, mut matrix_exponent) = (0i32, 0i32);
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = multiply(&power, &matrix, m);
            exponent += matrix_exponent;
        }
        matrix = multiply(&matrix, &matrix, m);
        matrix_exponent *= 2;
        if matrix[(k - 1) * m + (k - 1)].abs() > SCALE {
            for value in &mut matrix {
                *value /= SCALE;
            }
            matrix_exponent += SCALE_EXPONENT;
        }
        remaining /= 2;
    }
    let mut p = power[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < 1.0 / SCALE {
            p *= SCALE;
            exponent -= SCALE_EXPONENT;
        }
    }
    if exponent != 0 {
        p *= 2f64.powi(exponent);
    }
    p.clamp(0.0, 1.0)
}

fn identity(m: usize) -> Vec<f64> {
    let mut matrix = vec![0.0; m * m];
    for i in 0..m {
        matrix[i * m + i] = 1.0;
    }
    matrix
}

fn multiply(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

/// `P(D_n <= x)` by Pomeranz's recursion: rows of Poisson-like convolutions, two rows kept, with
/// rescaling.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "indices are small integers"
)]
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let n_i = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let powers = 2 * (ll as usize + 1);
    let mut g_power = vec![1.0; powers];
    let mut two_g_power = vec![1.0; powers];
    let mut one_minus_two_g_power = vec![1.0; powers];
    for k in 1..powers {
        g_power[k] = g_power[k - 1] * (g / nf) / k as f64;
        two_g_power[k] = two_g_power[k - 1] * (2.0 * g / nf) / k as f64;
        one_minus_two_g_power[k] = one_minus_two_g_power[k - 1] * ((1.0 - 2.0 * g) / nf) / k as f64;
    }
    let bounds = |i: i64| -> (i64, i64) {
        let (j1, j2) = if i == 0 {
            (-ll - ceilf - 1, ll + ceilf - 1)
        } else {
            let (half, odd_next) = ((i + 1) / 2, (i + 1) % 2);
            if odd_next == 0 {
                if half == n_i + 1 {
                    (n_i - ll - ceilf - 1, n_i + ll + ceilf - 1)
                } else {
                    (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
                }
            } else {
                (half - 1 - ll - 1, half + ll + roundf - 1)
            }
        };
        ((j1 + 2).max(0), j2.min(n_i))
    };
    let mut previous = vec![0.0; powers];
    let mut current = vec![0.0; powers];
    current[0] = 1.0;
    let (mut previous_start, mut current_start) = (0i64, 0i64);
    let (mut j1, mut _j2) = bounds(0);
    let mut exponent = 0i32;
    for i in 1..(2 * n_i + 2) {
        let k1 = j1;
        std::mem::swap(&mut previous, &mut current);
        std::mem::swap(&mut previous_start, &mut current_start);
        current.fill(0.0);
        let (new_j1, j2) = bounds(i);
        j1 = new_j1;
        _j2 = j2;
        let weights = if i == 1 || i == 2 * n_i + 1 {
            &g_power
        } else if i % 2 == 1 {
            &two_g_power
        } else {
            &one_minus_two_g_power
        };
        let span = j2 - k1 + 1;
        if span > 0 {
            let span = span as usize;
            let from = (k1 - previous_start) as usize;
            let source = &previous[from..from + span];
            // The full convolution of the row segment with the weights; keep the part this row's
            // bounds select.
            let first = (j1 - k1) as usize;
            let count = (j2 - j1 + 1) as usize;
            for (out, c) in current.iter_mut().take(count).zip(first..) {
                let mut sum = 0.0;
                let lo = c.saturating_sub(span - 1);
                for a in lo..=c.min(span - 1) {
                    sum += source[a] * weights[c - a];
                }
                *out = sum;
            }
            let largest = current.iter().copied().fold(0.0, f64::max);
            if largest > 0.0 && largest < 1.0 / SCALE {
                for value in &mut current {
                    *value *= SCALE;
                }
                exponent -= SCALE_EXPONENT;
            }
            current_start = previous_start + j1 - k1;
        }
    }
    let mut answer = current[(n_i - current_start) as usize];
    for k in 1..=n {
        if answer.abs() > SCALE {
            answer /= SCALE;
            exponent += SCALE_EXPONENT;
        }
        answer *= k as f64;
    }
    if exponent != 0 {
        answer *= 2f64.powi(exponent);
    }
    answer.clamp(0.0, 1.0)
}

/// `P(D_n <= x)` by the Pelz-Good expansion in `1/sqrt(n)` (for large n).
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the number of series terms is small"
)]
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let q_log = -PI * PI / 8.0 / z2;
    // exp() of anything below this underflows to 0.
    if q_log < -708.0 - 38.0 {
        return 0.0;
    }
    let q = q_log.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let terms = (16.0 * z / PI).ceil() as u64;
    let mut k = [0.0f64; 4];
    // Horner over odd m = 2k - 1 of c_m q^(m^2).
    for j in (1..=terms).rev() {
        let m = (2 * j - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let q_power = q.powf(8.0 * j as f64);
        let coefficients = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (value, c) in k.iter_mut().zip(coefficients) {
            *value = *value * q_power + c;
        }
    }
    let root_two_pi = (2.0 * PI).sqrt();
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (value, divisor) in k.iter_mut().zip(divisors) {
        *value = *value * q * root_two_pi / divisor;
    }
    // The sums over all integers k for K2 and K3.
    let q = (-pi2 / 2.0 / z2).exp();
    let root3_z = 3f64.sqrt() * z;
    let (mut k2_extra, mut k3_extra) = (0.0, 0.0);
    for j in (1..=terms).rev() {
        let jf = j as f64;
        let q_power = q.powf(jf * jf);
        k2_extra += jf * jf * q_power;
        let kpi = PI * jf;
        k3_extra += (root3_z + kpi) * (root3_z - kpi) * jf * jf * q_power;
    }
    k[2] += k2_extra * pi2 * root_two_pi / (-36.0 * z3);
    k[3] += k3_extra * pi2 * root_two_pi / (216.0 * z6);
    k.iter()
        .enumerate()
        .map(|(i, value)| value / n.powf(i as f64 / 2.0))
        .sum()
}

/// `P(D+_n >= x)` for the one-sided one-sample statistic (scipy's `smirnov`): the
/// Birnbaum-Tingey sum `x Σ_v C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v)` over
/// `v <= n (1 - x)`, term by term in logarithms. Beyond a million, scipy's approximation.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::float_cmp,
    reason = "term counts are integers below n, compared exactly as floats"
)]
pub(crate) fn smirnov_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    let floor = nx.floor();
    if floor == 0.0 || (floor == 1.0 && nx == 1.0) {
        // x <= 1/n: one term.
        return 1.0 - x * (1.0 + x).powf(nf - 1.0);
    }
    if -2.0 * nf * x * x < -708.0 - 38.0 {
        return 0.0;
    }
    if floor >= nf - 1.0 {
        return (1.0 - x).powf(nf);
    }
    if n > 1_000_000 {
        let log_p = -(6.0 * nx + 1.0).powi(2) / 18.0 / nf;
        return if log_p < -std::f64::consts::LN_2 {
            log_p.exp()
        } else {
            1.0 + log_p.exp_m1()
        };
    }
    // Terms v = 0 ..= last, where v/n < 1 - x.
    let last = {
        let top = nf - nx;
        let mut v = top.floor();
        if v == top {
            v -= 1.0;
        }
        v as u64
    };
    let ln_x = x.ln();
    let mut ln_binomial = 0.0f64;
    let mut sum = 0.0f64;
    let mut largest = f64::NEG_INFINITY;
    let mut terms: Vec<f64> = Vec::new();
    for v in 0..=last {
        let vf = v as f64;
        if v > 0 {
            ln_binomial += ((nf - vf + 1.0) / vf).ln();
        }
        let ln_term = ln_binomial
            + ln_x
            + (vf - 1.0) * (x + vf / nf).ln()
            + (nf - vf) * ((nf - vf) / nf - x).ln();
        largest = largest.max(ln_term);
        terms.push(ln_term);
        // The terms rise then fall fast: stop once they no longer matter.
        if ln_term < largest - 50.0 && v > 2 {
            break;
        }
    }
    for ln_term in terms {
        sum += (ln_term - largest).exp();
    }
    (sum.ln() + largest).exp().clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::float_cmp, reason = "exact values")]
    fn statistic_handles_ties_and_identical_samples() {
        assert_eq!(statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(statistic(&[1.0, 1.0], &[2.0, 2.0]), 1.0);
        assert!((statistic(&[1.0, 2.0, 2.0, 3.0], &[2.0, 2.0]) - 0.25).abs() < 1e-15);
    }
}
