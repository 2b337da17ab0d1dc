//! Preprocessing: a ROS-style camera frame → the network's input tensor.
//!
//! Crop, bilinear resize and scaling as Behavior Metrics' Python brains do it (`img[240:480]`,
//! `cv2.resize(..., INTER_LINEAR)`, `ToTensor`), into a caller-owned f32 buffer with no heap
//! allocation per frame. The resize follows OpenCV's `INTER_LINEAR` for 8-bit images: pixel
//! centres at +0.5, borders clamped, weights quantised to 1/2048, result rounded to 8 bits.
//! Results agree with OpenCV within one level (1/255) per pixel; the 8-bit values are then
//! scaled through a lookup table, so training data written with [`Preprocessor::run_u8`] and
//! frames seen while driving give the network identical numbers.

use thiserror::Error;

use crate::base::sensor::{Encoding, Frame, FrameError};
use crate::inference::model::{ColorOrder, InputSpec, Layout, Scaling};

/// Why a frame could not be preprocessed.
#[derive(Debug, Error, PartialEq)]
pub enum PreprocessError {
    /// The frame is malformed or not the size the model expects.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The output buffer has the wrong length.
    #[error("preprocessing output buffer holds {actual} values, the model input needs {expected}")]
    Buffer {
        /// Values needed.
        expected: usize,
        /// Values given.
        actual: usize,
    },
}

/// 2^23: added to a float in [0, 2^22), the sum's last mantissa bit is worth 1.
const ROUND: f32 = 8_388_608.0;

/// OpenCV's fixed-point weight scale for 8-bit bilinear resizing (`INTER_RESIZE_COEF_SCALE`).
const COEF_SCALE: f32 = 2048.0;

/// One axis of the resize: for each output index, the two source indices and their weights.
#[derive(Debug, Clone)]
struct Axis {
    i0: Vec<u32>,
    i1: Vec<u32>,
    w0: Vec<f32>,
    w1: Vec<f32>,
}

impl Axis {
    /// OpenCV `resize` INTER_LINEAR coefficients for `src` → `dst` samples.
    fn new(src: u32, dst: u32) -> Axis {
        let scale = src as f64 / dst as f64;
        let n = dst as usize;
        let mut axis = Axis {
            i0: Vec::with_capacity(n),
            i1: Vec::with_capacity(n),
            w0: Vec::with_capacity(n),
            w1: Vec::with_capacity(n),
        };
        for d in 0..dst {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            let mut frac = f - s as f32;
            if s < 0 {
                s = 0;
                frac = 0.0;
            }
            if s >= src as i64 - 1 {
                s = src as i64 - 1;
                frac = 0.0;
            }
            let s1 = (s + 1).min(src as i64 - 1);
            axis.i0.push(s as u32);
            axis.i1.push(s1 as u32);
            axis.w0
                .push(((1.0 - frac) * COEF_SCALE).round() / COEF_SCALE);
            axis.w1.push((frac * COEF_SCALE).round() / COEF_SCALE);
        }
        axis
    }
}

/// Crop + resize + scale for one model input; reuses its scratch memory between frames.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: InputSpec,
    tables: Tables,
}

impl Preprocessor {
    /// A preprocessor for `spec` (validated by [`crate::inference::model::Description`]).
    pub fn new(spec: &InputSpec) -> Preprocessor {
        Preprocessor {
            spec: spec.clone(),
            tables: Tables::new(spec),
        }
    }

    /// The input this preprocessor produces.
    pub fn spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Checks that `frame` is well-formed and the size the model was trained on.
    pub fn check(&self, frame: &Frame) -> Result<(), FrameError> {
        frame.validate_size(self.spec.frame.width, self.spec.frame.height)
    }

    /// Preprocesses `frame` into `out`, the model's input tensor (`spec().len()` values, in
    /// the spec's layout, colour order and scaling). Allocates nothing.
    pub fn run(&mut self, frame: &Frame, out: &mut [f32]) -> Result<(), PreprocessError> {
        let expected = self.spec.len();
        if out.len() != expected {
            return Err(PreprocessError::Buffer {
                expected,
                actual: out.len(),
            });
        }
        self.check(frame)?;
        let (w, h) = (
            self.spec.size.width as usize,
            self.spec.size.height as usize,
        );
        let plane = w * h;
        let scaling = self.spec.scaling.clone();
        match self.spec.layout {
            Layout::Nchw => resize(frame, &self.spec, &mut self.tables, |dy, c, levels| {
                let start = c * plane + dy * w;
                scale_into(&scaling, c, levels, out[start..start + w].iter_mut());
            }),
            Layout::Nhwc => resize(frame, &self.spec, &mut self.tables, |dy, c, levels| {
                let row = &mut out[dy * w * 3..(dy + 1) * w * 3];
                scale_into(&scaling, c, levels, row.iter_mut().skip(c).step_by(3));
            }),
        }
        Ok(())
    }

    /// Crops and resizes `frame` into 8-bit RGB, row-major, 3 bytes per pixel, in `out`
    /// (`width × height × 3` bytes): the pixels [`Preprocessor::run`] scales, for datasets
    /// and for looking at what the network sees.
    pub fn run_u8(&mut self, frame: &Frame, out: &mut [u8]) -> Result<(), PreprocessError> {
        let expected = self.spec.size.width as usize * self.spec.size.height as usize * 3;
        if out.len() != expected {
            return Err(PreprocessError::Buffer {
                expected,
                actual: out.len(),
            });
        }
        self.check(frame)?;
        // Always RGB here, whatever order the network takes.
        let spec = InputSpec {
            color: ColorOrder::Rgb,
            ..self.spec.clone()
        };
        let row_bytes = self.spec.size.width as usize * 3;
        resize(frame, &spec, &mut self.tables, |dy, c, levels| {
            let row = &mut out[dy * row_bytes..(dy + 1) * row_bytes];
            for (o, &l) in row.iter_mut().skip(c).step_by(3).zip(levels) {
                *o = l as u8;
            }
        });
        Ok(())
    }
}

/// Source byte offsets of the network's three channels within a pixel.
fn channel_offsets(encoding: Encoding, order: ColorOrder) -> [usize; 3] {
    let [r, g, b] = encoding.rgb_offsets();
    match order {
        ColorOrder::Rgb => [r, g, b],
        ColorOrder::Bgr => [b, g, r],
    }
}

/// 8-bit levels (0–255, integral) → network input values of channel `c`. The same
/// operations in the same order for every layout, and the ones PyTorch's `ToTensor` does
/// (a division by 255), so a dataset image and a live frame with equal levels give equal
/// inputs.
#[inline(always)]
fn scale_into<'a>(
    scaling: &Scaling,
    c: usize,
    levels: &[f32],
    out: impl Iterator<Item = &'a mut f32>,
) {
    match scaling {
        Scaling::Unit => out.zip(levels).for_each(|(o, &l)| *o = l / 255.0),
        Scaling::Raw => out.zip(levels).for_each(|(o, &l)| *o = l),
        Scaling::Normalize { mean, std } => {
            let (m, s) = (mean[c], std[c]);
            out.zip(levels).for_each(|(o, &l)| *o = (l / 255.0 - m) / s)
        }
    }
}

/// The resize kernel. For each output row: blend the two source rows vertically into a
/// contiguous f32 row, then for each network channel interpolate horizontally and round to
/// 8-bit levels, handed to `emit(output_row, channel, levels)`. `frame` has been checked.
///
/// On x86-64 CPUs with AVX2 the same code runs compiled for AVX2 (no FMA, so every CPU
/// computes identical results).
fn resize(
    frame: &Frame,
    spec: &InputSpec,
    tables: &mut Tables,
    emit: impl FnMut(usize, usize, &[f32]),
) {
    tables.prepare(frame.encoding.channels());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { resize_avx2(frame, spec, tables, emit) };
        return;
    }
    resize_rows(frame, spec, tables, emit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resize_avx2(
    frame: &Frame,
    spec: &InputSpec,
    tables: &mut Tables,
    emit: impl FnMut(usize, usize, &[f32]),
) {
    resize_rows(frame, spec, tables, emit)
}

#[inline(always)]
fn resize_rows(
    frame: &Frame,
    spec: &InputSpec,
    tables: &mut Tables,
    mut emit: impl FnMut(usize, usize, &[f32]),
) {
    let cn = frame.encoding.channels();
    let crop = spec.crop;
    let row_len = (crop.right - crop.left) as usize * cn;
    let offsets = channel_offsets(frame.encoding, spec.color);
    let step = frame.step as usize;
    let left = crop.left as usize * cn;
    let Tables {
        ys,
        hx0,
        hx1,
        x_bytes,
        row,
        levels,
        ..
    } = tables;
    for (dy, ((&y0, &y1), (&wy0, &wy1))) in ys
        .i0
        .iter()
        .zip(&ys.i1)
        .zip(ys.w0.iter().zip(&ys.w1))
        .enumerate()
    {
        let r0 = (crop.top + y0) as usize * step + left;
        let r1 = (crop.top + y1) as usize * step + left;
        let s0 = &frame.data[r0..r0 + row_len];
        let s1 = &frame.data[r1..r1 + row_len];
        // Integer weights (the float weights are multiples of 1/2048) keep this exact and
        // cheap; the 1/2048 is folded into the horizontal weights, a power of two, so the
        // result equals blending in floats.
        // 16-bit operands (weights are at most 2048) let the compiler use pmaddwd.
        let (k0, k1) = ((wy0 * COEF_SCALE) as i16, (wy1 * COEF_SCALE) as i16);
        for ((o, &a), &b) in row[..row_len].iter_mut().zip(s0).zip(s1) {
            *o = (a as i16 as i32 * k0 as i32 + b as i16 as i32 * k1 as i32) as f32;
        }
        for (c, &o) in offsets.iter().enumerate() {
            match cn {
                1 => horizontal::<1>(row, x_bytes, hx0, hx1, o, levels),
                3 => horizontal::<3>(row, x_bytes, hx0, hx1, o, levels),
                _ => horizontal::<4>(row, x_bytes, hx0, hx1, o, levels),
            }
            emit(dy, c, levels);
        }
    }
}

/// Horizontal pass of one channel of one row: output `dx` blends source pixels `x0` and
/// `x0 + 1` (`x_bytes[dx] = x0 · CN`, channel byte offset `o`) and rounds to an 8-bit level
/// like OpenCV's fixed-point result. At the clamped right border the second weight is 0 and
/// the read lands in `row`'s padding.
#[inline(always)]
fn horizontal<const CN: usize>(
    row: &[f32],
    x_bytes: &[u32],
    w0: &[f32],
    w1: &[f32],
    o: usize,
    levels: &mut [f32],
) {
    // Axis::new makes source indices non-decreasing, so the last is the largest.
    let last = x_bytes.last().map_or(0, |&x| x as usize);
    debug_assert!(x_bytes.windows(2).all(|p| p[0] <= p[1]));
    assert!(
        o < CN && last + 2 * CN <= row.len(),
        "resize tables out of range"
    );
    for (((level, &a), &wa), &wb) in levels.iter_mut().zip(x_bytes).zip(w0).zip(w1) {
        let i = a as usize + o;
        // SAFETY: x_bytes is non-decreasing (by construction) with its last entry `last`, and
        // last + o + CN < last + 2·CN <= row.len(), asserted above.
        let (p, q) = unsafe { (*row.get_unchecked(i), *row.get_unchecked(i + CN)) };
        let v = p * wa + q * wb;
        // v is in [0, 255]; adding and removing 2^23 rounds it to the nearest integer
        // (ties to even) in plain float arithmetic, which vectorises.
        *level = (v + ROUND) - ROUND;
    }
}

/// Resize coefficients plus per-encoding byte offsets and scratch rows, reused every frame.
#[derive(Debug, Clone)]
struct Tables {
    xs: Axis,
    ys: Axis,
    /// Horizontal weights divided by 2048 (the vertical pass leaves its sums ×2048).
    hx0: Vec<f32>,
    /// Second horizontal weight, divided by 2048.
    hx1: Vec<f32>,
    /// `xs.i0[dx] · channels` for the channel count last prepared.
    x_bytes: Vec<u32>,
    prepared_cn: usize,
    /// One vertically blended crop row plus padding.
    row: Vec<f32>,
    /// One output row of one channel, as 8-bit levels.
    levels: Vec<f32>,
}

impl Tables {
    fn new(spec: &InputSpec) -> Tables {
        let crop = spec.crop.size();
        let xs = Axis::new(crop.width, spec.size.width);
        Tables {
            hx0: xs.w0.iter().map(|w| w / COEF_SCALE).collect(),
            hx1: xs.w1.iter().map(|w| w / COEF_SCALE).collect(),
            x_bytes: Vec::with_capacity(xs.i0.len()),
            prepared_cn: 0,
            xs,
            ys: Axis::new(crop.height, spec.size.height),
            row: vec![0.0; (crop.width as usize + 2) * 4],
            levels: vec![0.0; spec.size.width as usize],
        }
    }

    /// Byte offsets for `cn` channels per pixel (recomputed only when the encoding's channel
    /// count changes, which allocates nothing: the capacity is kept).
    fn prepare(&mut self, cn: usize) {
        if self.prepared_cn != cn {
            self.x_bytes.clear();
            self.x_bytes
                .extend(self.xs.i0.iter().map(|&x| x * cn as u32));
            self.prepared_cn = cn;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::model::{Crop, Size};

    fn spec() -> InputSpec {
        InputSpec::behavior_metrics()
    }

    fn gradient(encoding: Encoding, pad: u32) -> Frame {
        let (w, h) = (640u32, 480u32);
        let cn = encoding.channels() as u32;
        let step = w * cn + pad;
        let mut data = vec![0xAB; (step * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let rgb = [(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8];
                let base = (y * step + x * cn) as usize;
                match encoding {
                    Encoding::Mono8 => data[base] = rgb[0],
                    _ => {
                        let [r, g, b] = encoding.rgb_offsets();
                        data[base + r] = rgb[0];
                        data[base + g] = rgb[1];
                        data[base + b] = rgb[2];
                        if cn == 4 {
                            data[base + 3] = 255;
                        }
                    }
                }
            }
        }
        Frame {
            stamp: 0.0,
            seq: 0,
            width: w,
            height: h,
            encoding,
            step,
            data,
        }
    }

    fn run(frame: &Frame, spec: &InputSpec) -> Result<Vec<f32>, PreprocessError> {
        let mut p = Preprocessor::new(spec);
        let mut out = vec![f32::NAN; spec.len()];
        p.run(frame, &mut out).map(|()| out)
    }

    #[test]
    fn every_colour_encoding_and_padding_gives_the_same_tensor() {
        let reference = run(&gradient(Encoding::Rgb8, 0), &spec()).unwrap();
        assert!(reference.iter().all(|v| (0.0..=1.0).contains(v)));
        for enc in [Encoding::Bgr8, Encoding::Rgba8, Encoding::Bgra8] {
            for pad in [0, 3, 64] {
                let out = run(&gradient(enc, pad), &spec()).unwrap();
                assert_eq!(out, reference, "{enc} pad {pad}");
            }
        }
    }

    #[test]
    fn mono8_fills_all_three_channels_with_grey() {
        let out = run(&gradient(Encoding::Mono8, 5), &spec()).unwrap();
        let plane = 66 * 200;
        assert_eq!(out[..plane], out[plane..2 * plane]);
        assert_eq!(out[..plane], out[2 * plane..]);
        let rgb = run(&gradient(Encoding::Rgb8, 0), &spec()).unwrap();
        assert_eq!(
            out[..plane],
            rgb[..plane],
            "grey equals the red ramp it came from"
        );
    }

    #[test]
    fn layout_colour_order_and_scaling_follow_the_spec() {
        let frame = gradient(Encoding::Rgb8, 0);
        let nchw = run(&frame, &spec()).unwrap();
        let (plane, w) = (66 * 200, 200);
        let nhwc = run(
            &frame,
            &InputSpec {
                layout: Layout::Nhwc,
                ..spec()
            },
        )
        .unwrap();
        let bgr = run(
            &frame,
            &InputSpec {
                color: ColorOrder::Bgr,
                ..spec()
            },
        )
        .unwrap();
        let raw = run(
            &frame,
            &InputSpec {
                scaling: Scaling::Raw,
                ..spec()
            },
        )
        .unwrap();
        for (y, x, c) in [(0, 0, 0), (10, 37, 1), (65, 199, 2)] {
            let i = c * plane + y * w + x;
            assert_eq!(nhwc[(y * w + x) * 3 + c], nchw[i]);
            assert_eq!(bgr[(2 - c) * plane + y * w + x], nchw[i]);
            assert_eq!(raw[i] / 255.0, nchw[i]);
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let mut frame = Frame::new_rgb8(640, 480);
        frame.data.fill(77);
        let out = run(&frame, &spec()).unwrap();
        assert!(out.iter().all(|v| *v == 77.0 / 255.0));
    }

    #[test]
    fn identity_resize_copies_pixels() {
        let frame = gradient(Encoding::Rgb8, 0);
        let spec = InputSpec {
            frame: Size {
                width: 640,
                height: 480,
            },
            crop: Crop {
                top: 100,
                bottom: 166,
                left: 40,
                right: 240,
            },
            ..spec()
        };
        let mut p = Preprocessor::new(&spec);
        let mut out = vec![0u8; 200 * 66 * 3];
        p.run_u8(&frame, &mut out).unwrap();
        for (y, x) in [(0, 0), (30, 77), (65, 199)] {
            let i = (y * 200 + x) * 3;
            assert_eq!(out[i..i + 3], frame.rgb(40 + x as u32, 100 + y as u32));
        }
    }

    #[test]
    fn bad_frames_are_errors_that_say_what_was_expected() {
        let mut small = Frame::new_rgb8(320, 240);
        let err = run(&small, &spec()).unwrap_err().to_string();
        assert!(err.contains("320x240, expected 640x480"), "{err}");
        small = gradient(Encoding::Rgb8, 0);
        small.data.truncate(1000);
        let err = run(&small, &spec()).unwrap_err().to_string();
        assert!(err.contains("truncated") && err.contains("921600"), "{err}");
        let mut p = Preprocessor::new(&spec());
        let err = p
            .run(&gradient(Encoding::Rgb8, 0), &mut [0.0; 10])
            .unwrap_err();
        assert_eq!(
            err,
            PreprocessError::Buffer {
                expected: 39600,
                actual: 10
            }
        );
    }

    #[test]
    fn axis_matches_opencv_coefficients() {
        // 640 → 200: scale 3.2; dst 0 samples src 1.1, dst 199 samples src 637.9.
        let a = Axis::new(640, 200);
        assert_eq!((a.i0[0], a.i1[0]), (1, 2));
        assert_eq!(a.w1[0], (0.1f32 * 2048.0).round() / 2048.0);
        assert_eq!((a.i0[199], a.i1[199]), (637, 638));
        // Upscaling clamps at both borders.
        let up = Axis::new(2, 8);
        assert_eq!((up.i0[0], up.w1[0]), (0, 0.0));
        assert_eq!((up.i0[7], up.i1[7], up.w1[7]), (1, 1, 0.0));
    }
}
