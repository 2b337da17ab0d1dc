//! The experiment's figures, each drawn once for any plotters backend and saved as PNG and
//! SVG: Behavior Metrics' boxplots per circuit (average speed, percentage completed, position
//! deviation per model), every model's trajectory over the reference, the deviation along
//! the lap, and the histograms of the brain's compute time per frame.
//!
//! Text is laid out in Ubuntu Light, embedded in the binary, so the figures look the same on
//! every machine and need no font installed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::data::Quartiles;
use plotters::prelude::*;

use super::matrix::direction_name;
use super::store::{CellResult, Index};
use super::ExperimentError;

/// A figure, drawable on any backend.
pub trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws it on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// The colour of the i-th model (Tableau's ten, then two more).
pub fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 12] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(0, 0, 128),
        RGBColor(128, 128, 0),
    ];
    COLOURS[i % COLOURS.len()]
}

const FONT: &str = "sans-serif";

fn register_font() {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        // The bytes are a valid TrueType font (a crate constant); a failure would only mean
        // text is left out, never a wrong figure.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Draws `figure` into `stem.png` and `stem.svg`; returns the two paths.
pub fn save(figure: &impl Figure, stem: &Path) -> Result<[PathBuf; 2], ExperimentError> {
    register_font();
    let (w, h) = figure.size();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let fail = |path: &Path, message: String| ExperimentError::Figure {
        path: path.to_path_buf(),
        message,
    };
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        figure.draw(&root).map_err(|m| fail(&png, m))?;
        root.present().map_err(|e| fail(&png, e.to_string()))?;
    }
    // Best compression: the figures are checked in with a study's report.
    let file = std::fs::File::create(&png).map_err(super::io_error(&png))?;
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        std::io::BufWriter::new(file),
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(encoder, &pixels, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| fail(&png, e.to_string()))?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        figure.draw(&root).map_err(|m| fail(&svg, m))?;
        root.present().map_err(|e| fail(&svg, e.to_string()))?;
    }
    std::fs::write(&svg, text).map_err(super::io_error(&svg))?;
    Ok([png, svg])
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Every `step`-th item so that at most `max` remain (and the last one).
fn thin<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    let step = items.len().div_ceil(max);
    let mut out: Vec<T> = items.iter().step_by(step).copied().collect();
    out.extend(items.last().copied());
    out
}

/// Behavior Metrics' boxplots of one circuit under one condition: average speed,
/// percentage completed and position deviation, a box per model over its runs (both
/// directions, every repetition).
pub struct Boxplots {
    /// Title.
    pub title: String,
    /// Model names, in order.
    pub models: Vec<String>,
    /// Per panel: its title and each model's values.
    pub panels: Vec<(String, Vec<Vec<f64>>)>,
}

impl Boxplots {
    /// The boxplots of `circuit` under `condition`.
    pub fn of(index: &Index, results: &[CellResult], circuit: &str, condition: &str) -> Boxplots {
        let models: Vec<String> = index
            .experiment
            .models
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let values = |f: fn(&CellResult) -> f64| -> Vec<Vec<f64>> {
            models
                .iter()
                .map(|m| {
                    results
                        .iter()
                        .filter(|r| {
                            r.settings.circuit.name == circuit
                                && r.settings.condition.name == condition
                                && &r.settings.model.name == m
                        })
                        .map(f)
                        .collect()
                })
                .collect()
        };
        Boxplots {
            title: format!("{circuit} — {condition}"),
            panels: vec![
                (
                    "average speed, m/s".into(),
                    values(|r| r.record.laps.average_speed_mps),
                ),
                (
                    "percentage completed".into(),
                    values(|r| r.record.laps.percentage_completed),
                ),
                (
                    "position deviation, m".into(),
                    values(|r| r.record.laps.position_deviation_mae_m),
                ),
            ],
            models,
        }
    }
}

impl Figure for Boxplots {
    fn size(&self) -> (u32, u32) {
        (1500, 140 + 34 * self.models.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(&self.title, (FONT, 26)).map_err(err)?;
        let panels = root.split_evenly((1, self.panels.len()));
        let n = self.models.len();
        for (area, (title, values)) in panels.iter().zip(&self.panels) {
            let all: Vec<f64> = values
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let (lo, hi) = bounds(&all);
            let (lo, hi) = (lo as f32, hi as f32);
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 20))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(150)
                .build_cartesian_2d(lo..hi, (0..n).into_segmented())
                .map_err(err)?;
            let names = self.models.clone();
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(TRANSPARENT)
                .x_labels(6)
                .y_labels(n)
                .y_label_formatter(&move |v| match v {
                    SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style((FONT, 14))
                .draw()
                .map_err(err)?;
            for (i, v) in values.iter().enumerate() {
                let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                if v.is_empty() {
                    continue;
                }
                let q = Quartiles::new(&v);
                chart
                    .draw_series(std::iter::once(
                        Boxplot::new_horizontal(SegmentValue::CenterOf(i), &q)
                            .width(18)
                            .whisker_width(0.6)
                            .style(colour(i).stroke_width(2)),
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(v.iter().map(|x| {
                        Circle::new(
                            (*x as f32, SegmentValue::CenterOf(i)),
                            3,
                            colour(i).filled(),
                        )
                    }))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

/// A range around `values` with a margin (a unit range around a single value).
fn bounds(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// One line of a panel: a model's name, colour index and points.
type Series = (String, usize, Vec<(f64, f64)>);

/// One direction's panel of [`Paths`].
pub struct Panel {
    /// Its title.
    pub title: String,
    /// The reference lap's points (top view only).
    pub reference: Vec<(f64, f64)>,
    /// One line per model.
    pub series: Vec<Series>,
}

/// Every model's first repetition on one circuit under one condition, a panel per
/// direction: the path over the reference lap (`plan`), or the lateral offset along the lap.
pub struct Paths {
    /// Title.
    pub title: String,
    /// One per direction.
    pub panels: Vec<Panel>,
    /// Top view (equal axes) or the offset along the lap.
    pub plan: bool,
}

impl Paths {
    /// Trajectories (`plan`) or deviation along the lap of `circuit` under `condition`.
    pub fn of(
        index: &Index,
        results: &[CellResult],
        circuit: &str,
        condition: &str,
        plan: bool,
    ) -> Paths {
        let e = &index.experiment;
        let mut panels = Vec::new();
        for &reverse in &e.directions {
            let mut reference = Vec::new();
            let mut series = Vec::new();
            for (i, m) in e.models.iter().enumerate() {
                let Some(r) = results.iter().find(|r| {
                    r.settings.circuit.name == circuit
                        && r.settings.condition.name == condition
                        && r.settings.model.name == m.name
                        && r.settings.reverse == reverse
                        && r.settings.repetition == 0
                }) else {
                    continue;
                };
                if reference.is_empty() {
                    reference = thin(
                        &r.reference.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>(),
                        2000,
                    );
                }
                let points: Vec<(f64, f64)> = if plan {
                    r.trajectory.iter().map(|s| (s.x, s.y)).collect()
                } else {
                    r.trajectory
                        .iter()
                        .map(|s| (s.progress_m, s.lateral_m))
                        .collect()
                };
                series.push((m.name.clone(), i, thin(&points, 800)));
            }
            if !series.is_empty() {
                panels.push(Panel {
                    title: format!(
                        "{} ({})",
                        if reverse { "reverse" } else { "forward" },
                        direction_name(reverse)
                    ),
                    reference: if plan { reference } else { Vec::new() },
                    series,
                });
            }
        }
        let what = if plan {
            "trajectories"
        } else {
            "lateral offset along the lap"
        };
        Paths {
            title: format!("{circuit} — {condition}: {what}"),
            panels,
            plan,
        }
    }
}

impl Figure for Paths {
    fn size(&self) -> (u32, u32) {
        if self.plan {
            (800 * self.panels.len().max(1) as u32, 820)
        } else {
            (1400, 60 + 380 * self.panels.len().max(1) as u32)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(&self.title, (FONT, 24)).map_err(err)?;
        let areas = if self.plan {
            root.split_evenly((1, self.panels.len().max(1)))
        } else {
            root.split_evenly((self.panels.len().max(1), 1))
        };
        for (area, panel) in areas.iter().zip(&self.panels) {
            let (title, reference, series) = (&panel.title, &panel.reference, &panel.series);
            let pts = reference
                .iter()
                .chain(series.iter().flat_map(|s| s.2.iter()));
            let (mut x0, mut x1, mut y0, mut y1) = pts.fold(
                (
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                ),
                |(a, b, c, d), (x, y)| (a.min(*x), b.max(*x), c.min(*y), d.max(*y)),
            );
            if !x0.is_finite() {
                (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
            }
            if self.plan {
                // Equal scales: the shorter side grows to the longer one's span.
                let span = (x1 - x0).max(y1 - y0) * 1.05 + 1.0;
                let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
                (x0, x1, y0, y1) = (
                    cx - span / 2.0,
                    cx + span / 2.0,
                    cy - span / 2.0,
                    cy + span / 2.0,
                );
            } else {
                let m = y0.abs().max(y1.abs()).max(0.05) * 1.1;
                (y0, y1) = (-m, m);
            }
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 18))
                .margin(12)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(if self.plan {
                    "x, m"
                } else {
                    "distance along the lap, m"
                })
                .y_desc(if self.plan {
                    "y, m"
                } else {
                    "lateral offset, m (left +)"
                })
                .label_style((FONT, 13))
                .draw()
                .map_err(err)?;
            if !reference.is_empty() {
                chart
                    .draw_series(LineSeries::new(
                        reference.iter().copied(),
                        RGBColor(200, 200, 200).stroke_width(6),
                    ))
                    .map_err(err)?
                    .label("reference")
                    .legend(|(x, y)| {
                        PathElement::new(
                            [(x, y), (x + 18, y)],
                            RGBColor(200, 200, 200).stroke_width(6),
                        )
                    });
            }
            for (name, i, points) in series {
                let c = colour(*i);
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Histograms of the brain's compute time per frame (preprocessing, inference, output
/// mapping), one line per model over all its runs, as the share of frames per bin.
pub struct ComputeTimes {
    /// Per model: its name, colour index and times (ms).
    pub models: Vec<(String, usize, Vec<f32>)>,
}

impl ComputeTimes {
    /// Every network's compute times in `results` (the expert's too: it is timed the same way).
    pub fn of(index: &Index, results: &[CellResult]) -> ComputeTimes {
        let models = index
            .experiment
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let times: Vec<f32> = results
                    .iter()
                    .filter(|r| r.settings.model.name == m.name)
                    .flat_map(|r| r.compute_ms.iter().copied())
                    .filter(|t| t.is_finite())
                    .collect();
                (m.name.clone(), i, times)
            })
            .filter(|(_, _, t)| !t.is_empty())
            .collect();
        ComputeTimes { models }
    }
}

/// The `q` quantile of sorted `v`.
fn quantile(v: &[f32], q: f64) -> f32 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

impl Figure for ComputeTimes {
    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let mut sorted: Vec<f32> = self
            .models
            .iter()
            .flat_map(|m| m.2.iter().copied())
            .collect();
        sorted.sort_by(f32::total_cmp);
        // Up to the 99.5th percentile of all frames: the rare long frame would flatten the rest.
        let hi = if sorted.is_empty() {
            1.0
        } else {
            (quantile(&sorted, 0.995) as f64 * 1.1).max(0.01)
        };
        const BINS: usize = 80;
        let width = hi / BINS as f64;
        let mut lines = Vec::new();
        let mut top: f64 = 0.0;
        for (name, i, times) in &self.models {
            let mut counts = vec![0usize; BINS];
            for t in times {
                let b = ((*t as f64) / width) as usize;
                if b < BINS {
                    counts[b] += 1;
                }
            }
            let points: Vec<(f64, f64)> = counts
                .iter()
                .enumerate()
                .map(|(b, c)| {
                    (
                        (b as f64 + 0.5) * width,
                        100.0 * *c as f64 / times.len() as f64,
                    )
                })
                .collect();
            top = points.iter().map(|p| p.1).fold(top, f64::max);
            let mut v = times.clone();
            v.sort_by(f32::total_cmp);
            let label = format!(
                "{name} (p50 {:.2} ms, p99 {:.2} ms)",
                quantile(&v, 0.5),
                quantile(&v, 0.99)
            );
            lines.push((label, *i, points));
        }
        let mut chart = ChartBuilder::on(root)
            .caption(
                "brain compute time per frame (preprocessing + inference)",
                (FONT, 24),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..hi, 0.0..(top * 1.08).max(1.0))
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("milliseconds")
            .y_desc("% of frames")
            .label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        for (label, i, points) in lines {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_the_budget() {
        let v: Vec<u32> = (0..10_000).collect();
        let t = thin(&v, 1000);
        assert!(t.len() <= 1001, "{}", t.len());
        assert_eq!((t[0], *t.last().unwrap()), (0, 9999));
        assert_eq!(thin(&v[..5], 10), v[..5]);
    }

    #[test]
    fn figures_save_as_png_and_svg_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let figure = ComputeTimes {
            models: vec![
                ("fp32".into(), 0, vec![0.5, 0.6, 0.55, 0.7]),
                ("int8".into(), 1, vec![0.3, 0.35]),
            ],
        };
        let [png, svg] = save(&figure, &dir.path().join("compute")).unwrap();
        let img = image::open(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1400, 700));
        let svg = std::fs::read_to_string(svg).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("fp32 (p50"),
            "{}",
            &svg[..200]
        );
        // Text was drawn in the embedded font: the PNG is not blank around the title.
        let rgb = img.to_rgb8();
        let dark = rgb
            .pixels()
            .filter(|p| p.0[0] < 100 && p.0[1] < 100 && p.0[2] < 100)
            .count();
        assert!(dark > 500, "{dark}");
    }
}
