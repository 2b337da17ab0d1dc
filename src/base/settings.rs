//! The error a setting out of range produces, and the range checks every settings struct
//! shares.
//!
//! Each settings struct (brain, command limits, backend, simulator, bench, dataset) validates
//! itself and names the offending setting by its field name. The command line and the ROS
//! parameters go through the same validation; each adapter only says how it spells the name
//! (`--threads`, parameter `threads`).

use std::fmt::Display;

use thiserror::Error;

/// A setting whose value is out of range.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{name}: {problem}")]
pub struct InvalidSetting {
    /// The setting, by its field name (`threads`, `v_max`, `physics_dt`).
    pub name: &'static str,
    /// What is wrong with the value.
    pub problem: String,
}

impl InvalidSetting {
    /// Setting `name` is wrong: `problem`.
    pub fn new(name: &'static str, problem: impl Into<String>) -> Self {
        InvalidSetting {
            name,
            problem: problem.into(),
        }
    }
}

/// `value` if it is a positive, finite number.
pub fn positive(name: &'static str, value: f64) -> Result<f64, InvalidSetting> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(InvalidSetting::new(
            name,
            format!("{value} must be a positive number"),
        ))
    }
}

/// `value` if it lies in `[low, high]` (NaN never does).
pub fn within<T>(name: &'static str, value: T, low: T, high: T) -> Result<T, InvalidSetting>
where
    T: PartialOrd + Display + Copy,
{
    if value >= low && value <= high {
        Ok(value)
    } else {
        Err(InvalidSetting::new(
            name,
            format!("{value} is not in [{low}, {high}]"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_setting_and_the_value() {
        assert_eq!(positive("rate", 2.0), Ok(2.0));
        let e = positive("rate", f64::NAN).unwrap_err();
        assert_eq!(e.to_string(), "rate: NaN must be a positive number");
        assert_eq!(within("threads", 4, 1, 256), Ok(4));
        let e = within("threads", 100_000, 1, 256).unwrap_err();
        assert_eq!(e.name, "threads");
        assert_eq!(e.problem, "100000 is not in [1, 256]");
        assert!(within("dt", f64::NAN, 0.0, 1.0).is_err());
    }
}
