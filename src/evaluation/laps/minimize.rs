//! One-dimensional minimisers as Behavior Metrics' deviation score uses them: SciPy's
//! `fmin` (Nelder–Mead with its default simplex, tolerances and budget, step for step, so a
//! local search lands where SciPy's lands), and a deterministic stand-in for its
//! `dual_annealing` over a bounded interval (a dense scan, then a golden-section refinement:
//! the global minimum without SciPy's random restarts).

/// SciPy's `fmin(f, [x0])`: Nelder–Mead in one dimension, `xtol = ftol = 1e-4`, at most 200
/// iterations and 200 evaluations, the initial simplex `x0, 1.05·x0` (or `x0, 0.00025` at
/// zero). Returns the best vertex and its value.
pub fn nelder_mead(f: impl Fn(f64) -> f64, x0: f64) -> (f64, f64) {
    const MAX: usize = 200;
    const TOL: f64 = 1e-4;
    let calls = std::cell::Cell::new(0usize);
    // SciPy's evaluation budget: a call past it is refused and the iteration abandoned.
    let eval = |x: f64| -> Option<f64> {
        if calls.get() >= MAX {
            return None;
        }
        calls.set(calls.get() + 1);
        Some(f(x))
    };
    let x1 = if x0 != 0.0 { 1.05 * x0 } else { 0.00025 };
    let mut sim = [x0, x1];
    let mut fsim = [f64::INFINITY; 2];
    fsim[0] = eval(x0).unwrap_or(f64::INFINITY);
    fsim[1] = eval(x1).unwrap_or(f64::INFINITY);
    // NumPy's argsort of two keeps equal values in order.
    let sort = |sim: &mut [f64; 2], fsim: &mut [f64; 2]| {
        if fsim[1] < fsim[0] {
            sim.swap(0, 1);
            fsim.swap(0, 1);
        }
    };
    sort(&mut sim, &mut fsim);
    let mut iterations = 1;
    while calls.get() < MAX && iterations < MAX {
        if (sim[1] - sim[0]).abs() <= TOL && (fsim[0] - fsim[1]).abs() <= TOL {
            break;
        }
        let step = (|| -> Option<()> {
            let xbar = sim[0];
            let xr = 2.0 * xbar - sim[1];
            let fxr = eval(xr)?;
            if fxr < fsim[0] {
                let xe = 3.0 * xbar - 2.0 * sim[1];
                let fxe = eval(xe)?;
                if fxe < fxr {
                    (sim[1], fsim[1]) = (xe, fxe);
                } else {
                    (sim[1], fsim[1]) = (xr, fxr);
                }
            } else {
                // With one dimension the second-worst vertex is the best one, so a reflection
                // that does not beat it is always followed by a contraction.
                let shrink = if fxr < fsim[1] {
                    let xc = 1.5 * xbar - 0.5 * sim[1];
                    let fxc = eval(xc)?;
                    if fxc <= fxr {
                        (sim[1], fsim[1]) = (xc, fxc);
                        false
                    } else {
                        true
                    }
                } else {
                    let xcc = 0.5 * xbar + 0.5 * sim[1];
                    let fxcc = eval(xcc)?;
                    if fxcc < fsim[1] {
                        (sim[1], fsim[1]) = (xcc, fxcc);
                        false
                    } else {
                        true
                    }
                };
                if shrink {
                    sim[1] = sim[0] + 0.5 * (sim[1] - sim[0]);
                    fsim[1] = eval(sim[1])?;
                }
            }
            Some(())
        })();
        if step.is_some() {
            iterations += 1;
        }
        sort(&mut sim, &mut fsim);
        if step.is_none() {
            break;
        }
    }
    (sim[0], fsim[0].min(fsim[1]))
}

/// The global minimum of `f` over `[lo, hi]`: the best of a scan every `1/SCAN_PER_UNIT`,
/// refined by golden-section search between its neighbours. Returns the argument and value.
pub fn global_minimum(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> (f64, f64) {
    /// Scan points per unit of the argument (one sample interval of the path).
    const SCAN_PER_UNIT: f64 = 50.0;
    let n = (((hi - lo) * SCAN_PER_UNIT).ceil() as usize).max(1);
    let h = (hi - lo) / n as f64;
    let mut best = (lo, f(lo));
    for i in 1..=n {
        let x = lo + h * i as f64;
        let v = f(x);
        if v < best.1 {
            best = (x, v);
        }
    }
    // Golden-section search of the bracket around the best scan point.
    let (mut a, mut b) = ((best.0 - h).max(lo), (best.0 + h).min(hi));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-9 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let x = 0.5 * (a + b);
    let v = f(x);
    if v < best.1 {
        (x, v)
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nelder_mead_finds_a_parabolas_minimum() {
        let (x, v) = nelder_mead(|x| (x - 3.0).powi(2) + 1.0, 1.0);
        assert!((x - 3.0).abs() < 1e-3, "x {x}");
        assert!((v - 1.0).abs() < 1e-6);
    }

    #[test]
    fn nelder_mead_steps_as_scipy_does() {
        // scipy.optimize.fmin(lambda x: abs(x[0] - 7.3), [2.0], disp=False) → 7.3 (its
        // simplex starts at 2.0 and 2.1 and expands by doubling).
        let (x, _) = nelder_mead(|x| (x - 7.3).abs(), 2.0);
        assert!((x - 7.3).abs() < 1e-4, "x {x}");
        // From zero SciPy's second vertex is 0.00025.
        let (x, _) = nelder_mead(|x| (x + 0.5).abs(), 0.0);
        assert!((x + 0.5).abs() < 1e-4, "x {x}");
    }

    #[test]
    fn nelder_mead_stays_in_the_nearest_valley() {
        // Two valleys, at 1 and 40: from 0.9 the local search stays near 1.
        let f = |x: f64| ((x - 1.0).powi(2)).min((x - 40.0).powi(2) - 0.5);
        let (x, _) = nelder_mead(f, 0.9);
        assert!((x - 1.0).abs() < 1e-2, "x {x}");
    }

    #[test]
    fn global_minimum_finds_the_deeper_valley() {
        let f = |x: f64| ((x - 1.0).powi(2)).min((x - 40.0).powi(2) - 0.5);
        let (x, v) = global_minimum(f, 0.0, 100.0);
        assert!(
            (x - 40.0).abs() < 1e-6 && (v + 0.5).abs() < 1e-9,
            "x {x} v {v}"
        );
        // A minimum on the bound is found too.
        let (x, _) = global_minimum(|x| x, 2.0, 5.0);
        assert_eq!(x, 2.0);
    }
}
