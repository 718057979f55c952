//! Medians and ratios of repeated measurements.

/// The median of `values` (the mean of the two middle ones for an even count); 0 when empty.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median of the element-wise ratios `a[i] / b[i]` (paired rounds, so slow phases of a
/// shared machine hit both sides of a pair alike).
pub(crate) fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(_, d)| **d > 0.0)
        .map(|(n, d)| n / d)
        .collect();
    median(&ratios)
}

/// The smallest and largest of `values`, as "min..max".
pub(crate) fn spread(values: &[f64], digits: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() {
        return "-".to_owned();
    }
    format!("{min:.digits$}..{max:.digits$}")
}

/// "yes" or "NO", for a target column.
pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "yes" } else { "NO" }
}
