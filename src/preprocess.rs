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

use crate::model::{ColorOrder, InputSpec, Layout, Scaling};
use crate::sensor::{Encoding, Frame, FrameError};

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
    xs: Axis,
    ys: Axis,
    /// One vertically blended crop row, `crop width × channels` values.
    row: Vec<f32>,
    /// 8-bit value → input value, per network channel.
    lut: [[f32; 256]; 3],
}

impl Preprocessor {
    /// A preprocessor for `spec` (validated by [`crate::model::Description`]).
    pub fn new(spec: &InputSpec) -> Preprocessor {
        let crop = spec.crop.size();
        let mut lut = [[0.0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            for (v, out) in table.iter_mut().enumerate() {
                *out = match &spec.scaling {
                    Scaling::Unit => v as f32 / 255.0,
                    Scaling::Raw => v as f32,
                    Scaling::Normalize { mean, std } => (v as f32 / 255.0 - mean[c]) / std[c],
                };
            }
        }
        Preprocessor {
            spec: spec.clone(),
            xs: Axis::new(crop.width, spec.size.width),
            ys: Axis::new(crop.height, spec.size.height),
            row: vec![0.0; crop.width as usize * 4],
            lut,
        }
    }

    /// The input this preprocessor produces.
    pub fn spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Checks that `frame` is well-formed and the size the model was trained on.
    pub fn check(&self, frame: &Frame) -> Result<(), FrameError> {
        frame.validate()?;
        let f = self.spec.frame;
        if frame.width != f.width || frame.height != f.height {
            return Err(FrameError::WrongSize {
                width: frame.width,
                height: frame.height,
                expected_width: f.width,
                expected_height: f.height,
            });
        }
        Ok(())
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
        let [l0, l1, l2] = &self.lut;
        match self.spec.layout {
            Layout::Nchw => {
                let (p0, rest) = out.split_at_mut(plane);
                let (p1, p2) = rest.split_at_mut(plane);
                resize(
                    frame,
                    &self.spec,
                    &self.xs,
                    &self.ys,
                    &mut self.row,
                    |i, [a, b, c]| {
                        p0[i] = l0[a as usize];
                        p1[i] = l1[b as usize];
                        p2[i] = l2[c as usize];
                    },
                );
            }
            Layout::Nhwc => resize(
                frame,
                &self.spec,
                &self.xs,
                &self.ys,
                &mut self.row,
                |i, [a, b, c]| {
                    out[3 * i] = l0[a as usize];
                    out[3 * i + 1] = l1[b as usize];
                    out[3 * i + 2] = l2[c as usize];
                },
            ),
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
        resize(frame, &spec, &self.xs, &self.ys, &mut self.row, |i, px| {
            out[3 * i..3 * i + 3].copy_from_slice(&px)
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

/// The resize kernel: vertical blend of two source rows into `row`, then horizontal
/// interpolation per output pixel; `put(index, [c0, c1, c2])` stores output pixel `index`
/// (row-major) in the network's channel order. `frame` has been checked.
#[inline(always)]
fn resize(
    frame: &Frame,
    spec: &InputSpec,
    xs: &Axis,
    ys: &Axis,
    row: &mut [f32],
    mut put: impl FnMut(usize, [u8; 3]),
) {
    let cn = frame.encoding.channels();
    let crop = spec.crop;
    let row_len = (crop.right - crop.left) as usize * cn;
    let row = &mut row[..row_len];
    let offsets = channel_offsets(frame.encoding, spec.color);
    let step = frame.step as usize;
    let left = crop.left as usize * cn;
    let out_w = spec.size.width as usize;
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
        for ((o, &a), &b) in row.iter_mut().zip(s0).zip(s1) {
            *o = a as f32 * wy0 + b as f32 * wy1;
        }
        let base = dy * out_w;
        for (dx, ((&x0, &x1), (&wx0, &wx1))) in xs
            .i0
            .iter()
            .zip(&xs.i1)
            .zip(xs.w0.iter().zip(&xs.w1))
            .enumerate()
        {
            let (a, b) = (x0 as usize * cn, x1 as usize * cn);
            let px = offsets.map(|o| {
                let v = row[a + o] * wx0 + row[b + o] * wx1;
                // Rounded to 8 bits like OpenCV's fixed-point result; v is in [0, 255].
                (v + 0.5) as u8
            });
            put(base + dx, px);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Crop, Size};

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
        // 640 → 200: scale 3.2; dst 0 samples src 1.1, dst 199 samples src 638.3.
        let a = Axis::new(640, 200);
        assert_eq!((a.i0[0], a.i1[0]), (1, 2));
        assert_eq!(a.w1[0], (0.1f32 * 2048.0).round() / 2048.0);
        assert_eq!((a.i0[199], a.i1[199]), (638, 639));
        // Upscaling clamps at both borders.
        let up = Axis::new(2, 8);
        assert_eq!((up.i0[0], up.w1[0]), (0, 0.0));
        assert_eq!((up.i0[7], up.i1[7], up.w1[7]), (1, 1, 0.0));
    }
}
