//! Camera messages: raw `sensor_msgs/Image` fields in every encoding (and names that are
//! none), and compressed images (JPEG, PNG) as `sensor_msgs/CompressedImage` carries them;
//! what decodes goes on through the network's preprocessing.

use std::borrow::Cow;
use std::io::Cursor;

use pilotnet_brain::base::raw_image::{
    decode_compressed, RawImage, WireEncoding, MAX_DECODED_SIDE,
};
use pilotnet_brain::base::sensor::{Frame, FrameError};
use pilotnet_brain::inference::model::InputSpec;
use pilotnet_brain::inference::preprocess::Preprocessor;
use proptest::prelude::*;
use proptest::sample::select;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

const ENCODINGS: &[&str] = &[
    "rgb8",
    "bgr8",
    "mono8",
    "rgba8",
    "bgra8",
    "8UC3",
    "8UC1",
    "yuv422",
    "uyvy",
    "yuv422_yuy2",
    "yuyv",
    "bayer_rggb8",
    "bayer_bggr8",
    "bayer_gbrg8",
    "bayer_grbg8",
    "rgb16",
    "bgr16",
    "mono16",
    "",
    "RGB8",
    "rgb8 ",
    "32FC1",
    "jpeg",
];

/// A raw image message's fields; its data is `expected + delta` bytes of `fill` (capped).
#[derive(Debug, Clone)]
struct Raw {
    width: u32,
    height: u32,
    encoding: String,
    step: Option<u32>,
    big_endian: bool,
    delta: i64,
    fill: u8,
}

fn side() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0u32..700, 1 => Just(u32::MAX), 1 => any::<u32>(), 1 => 8190u32..8200]
}

fn raw() -> impl Strategy<Value = Raw> {
    (
        side(),
        side(),
        prop_oneof![8 => select(ENCODINGS).prop_map(String::from), 1 => ".{0,12}"],
        prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some), 1 => (0u32..4000).prop_map(Some)],
        any::<bool>(),
        prop_oneof![6 => Just(0i64), 2 => -8i64..8, 1 => any::<i64>()],
        any::<u8>(),
    )
        .prop_map(|(width, height, encoding, step, big_endian, delta, fill)| Raw {
            width,
            height,
            encoding,
            step,
            big_endian,
            delta,
            fill,
        })
}

/// A decoded frame must validate, and the network's preprocessing must take it (into finite
/// numbers) or refuse it by name; a refused message must say why.
fn check_decoded(result: Result<Frame, FrameError>) -> Result<(), String> {
    error_says_something(&result)?;
    let Ok(frame) = result else { return Ok(()) };
    frame
        .validate()
        .map_err(|e| format!("a decoded frame that does not validate: {e}"))?;
    let spec = InputSpec::behavior_metrics();
    let mut pre = Preprocessor::new(&spec);
    let mut out = vec![0f32; spec.len()];
    let result = pre.run(&frame, &mut out);
    error_says_something(&result)?;
    if result.is_ok() && out.iter().any(|x| !x.is_finite()) {
        return Err("preprocessing made a non-finite input".into());
    }
    Ok(())
}

#[test]
fn raw_camera_messages() {
    run("raw_camera_messages", 512, raw(), |r| {
        let encoding = match WireEncoding::parse(&r.encoding) {
            Ok(e) => e,
            Err(e) => return error_says_something(&Err::<(), _>(e)),
        };
        let bpp = encoding.bytes_per_pixel() as u64;
        let step = r
            .step
            .unwrap_or((u64::from(r.width) * bpp).min(u64::from(u32::MAX)) as u32);
        let expected = u64::from(step) * u64::from(r.height);
        // Data as long as the message says, give or take, but never over 64 MiB here.
        let len = (expected as i128 + r.delta as i128).clamp(0, 64 << 20) as usize;
        let message = RawImage {
            stamp: 1.0,
            seq: 7,
            width: r.width,
            height: r.height,
            encoding,
            step,
            big_endian: r.big_endian,
            data: Cow::Owned(vec![r.fill; len]),
        };
        check_decoded(message.into_frame(&mut Vec::new()))
    });
}

/// JPEG and PNG encodings of a small camera-like picture: RGB, grey, RGBA and 16-bit.
fn compressed_seeds() -> Vec<Vec<u8>> {
    let rgb = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, if y > 24 { 200 } else { 40 }])
    });
    let dynamic = image::DynamicImage::ImageRgb8(rgb);
    let mut seeds = Vec::new();
    for (img, format) in [
        (dynamic.clone(), image::ImageFormat::Jpeg),
        (dynamic.clone(), image::ImageFormat::Png),
        (
            image::DynamicImage::ImageLuma8(dynamic.to_luma8()),
            image::ImageFormat::Jpeg,
        ),
        (
            image::DynamicImage::ImageLuma8(dynamic.to_luma8()),
            image::ImageFormat::Png,
        ),
        (
            image::DynamicImage::ImageRgba8(dynamic.to_rgba8()),
            image::ImageFormat::Png,
        ),
        (
            image::DynamicImage::ImageRgb16(dynamic.to_rgb16()),
            image::ImageFormat::Png,
        ),
    ] {
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), format)
            .expect("seed encodes");
        seeds.push(buf);
    }
    seeds
}

#[test]
fn compressed_camera_messages() {
    let inputs = mutate::inputs(compressed_seeds(), 256);
    run("compressed_camera_messages", 512, inputs, |Bytes(data)| {
        let decoded =
            decode_compressed(1.0, 3, "rgb8; jpeg compressed bgr8", &data, &mut Vec::new());
        if let Ok(f) = &decoded {
            if f.width as usize > MAX_DECODED_SIDE || f.height as usize > MAX_DECODED_SIDE {
                return Err(format!("decoded {}x{}, over the limit", f.width, f.height));
            }
        }
        check_decoded(decoded)
    });
}
