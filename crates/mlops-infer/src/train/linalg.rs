//! Small dense symmetric systems in f64 for the full-batch solvers: Cholesky where the matrix
//! is safely positive definite, else the least-norm solution through an eigendecomposition
//! (cyclic Jacobi), which is what `lstsq` gives for a rank-deficient design such as a one-hot
//! block beside an intercept. The matrices are d x d with d the encoded width (times the
//! classes), so cubic cost is nothing beside a pass over the rows.

/// A Cholesky pivot smaller than this share of its diagonal entry counts as singular, and an
/// eigenvalue smaller than this share of the largest as zero. The normal equations square the
/// design's condition number, so below this the solution is rounding noise anyway.
const RANK_TOLERANCE: f64 = 1e-10;

/// Solves `a x = b` for the symmetric positive semi-definite `n x n` row-major `a`: the
/// solution of least norm where `a` is singular.
pub(super) fn solve_symmetric(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    cholesky_solve(a, b).unwrap_or_else(|| least_norm_solve(a, b))
}

/// `a x = b` by Cholesky, or `None` where a pivot is not clearly positive.
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook's names: a x = b, L, the pivot d"
)]
fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= l[j * n + k] * l[j * n + k];
        }
        // Also false for NaN: a NaN pivot is no solution either.
        let positive = d.is_finite() && d > RANK_TOLERANCE * a[j * n + j].abs();
        if !positive {
            return None;
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / d;
        }
    }
    // L y = b, then L^T x = y.
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= l[i * n + k] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= l[k * n + i] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    Some(y)
}

/// The least-norm solution of `a x = b`: `sum over eigenpairs (v . b) / lambda v`, leaving out
/// eigenvalues under [`RANK_TOLERANCE`] of the largest.
fn least_norm_solve(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let (values, vectors) = eigen_symmetric(a, n);
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut x = vec![0.0; n];
    for (k, &lambda) in values.iter().enumerate() {
        if lambda.partial_cmp(&(RANK_TOLERANCE * largest)) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let along: f64 = (0..n).map(|i| vectors[i * n + k] * b[i]).sum::<f64>() / lambda;
        for (i, xi) in x.iter_mut().enumerate() {
            *xi += along * vectors[i * n + k];
        }
    }
    x
}

/// Eigenvalues and eigenvectors (the columns of the row-major second value) of the symmetric
/// row-major `n x n` `a`, by cyclic Jacobi rotations (Golub and Van Loan, 8.5).
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook's names: rotation c, s, t of a, collecting v"
)]
fn eigen_symmetric(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off <= f64::EPSILON * f64::EPSILON * norm {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + theta.mul_add(theta, 1.0).sqrt());
                let c = 1.0 / t.mul_add(t, 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(a: &[f64], x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
            .collect()
    }

    #[test]
    fn cholesky_and_eigen_agree_on_a_definite_matrix() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, -0.2, 0.5, -0.2, 2.0];
        let b = [1.0, -2.0, 0.5];
        let x = cholesky_solve(&a, &b).expect("definite");
        let y = least_norm_solve(&a, &b);
        for ((bi, ax), (xi, yi)) in b.iter().zip(times(&a, &x)).zip(x.iter().zip(&y)) {
            assert!((bi - ax).abs() < 1e-14, "{x:?}");
            assert!((xi - yi).abs() < 1e-14, "{x:?} {y:?}");
        }
    }

    #[test]
    fn a_singular_matrix_gets_the_least_norm_solution() {
        // The Gram matrix of columns (1, 0), (0, 1), (1, 1): rank 2; b in its range.
        let a = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0];
        let b = [1.0, 2.0, 3.0];
        assert!(cholesky_solve(&a, &b).is_none());
        let x = solve_symmetric(&a, &b);
        for (bi, ax) in b.iter().zip(times(&a, &x)) {
            assert!((bi - ax).abs() < 1e-12, "{x:?}");
        }
        // Least norm: orthogonal to the null vector (1, 1, -1).
        assert!((x[0] + x[1] - x[2]).abs() < 1e-12, "{x:?}");
    }
}
