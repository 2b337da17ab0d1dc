//! Camera images as cameras send them: every `sensor_msgs/Image` encoding this project reads,
//! and their conversion into a [`Frame`] the pipeline consumes.
//!
//! The packed 8-bit encodings (`rgb8`, `bgr8`, `rgba8`, `bgra8`, `mono8`) pass through with
//! their bytes moved, not copied. The others are converted into 8-bit RGB (grey for `mono16`)
//! in a buffer the caller hands back between frames: `yuv422` (UYVY) and `yuv422_yuy2` (YUYV)
//! with BT.601 limited-range coefficients, as OpenCV's `COLOR_YUV2RGB_UYVY`/`_YUY2` do; the four
//! `bayer_*8` orders by bilinear demosaicing with mirrored borders; `rgb16`, `bgr16` and
//! `mono16` by keeping the high byte of each sample, in the message's byte order. Compressed
//! images (JPEG, PNG) are decoded into `rgb8`.

use std::borrow::Cow;

use crate::base::sensor::{check_layout, Encoding, Frame, FrameError};

/// The colour filter layout of a Bayer sensor, named by its top-left 2x2 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BayerOrder {
    /// R G / G B.
    Rggb,
    /// B G / G R.
    Bggr,
    /// G B / R G.
    Gbrg,
    /// G R / B G.
    Grbg,
}

impl BayerOrder {
    /// The colour (0 red, 1 green, 2 blue) at column parity `x` and row parity `y`.
    fn colour(self, x: usize, y: usize) -> usize {
        let block = match self {
            BayerOrder::Rggb => [0, 1, 1, 2],
            BayerOrder::Bggr => [2, 1, 1, 0],
            BayerOrder::Gbrg => [1, 2, 0, 1],
            BayerOrder::Grbg => [1, 0, 2, 1],
        };
        block[(y & 1) * 2 + (x & 1)]
    }
}

/// An image encoding as it arrives on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireEncoding {
    /// One of the packed 8-bit encodings a [`Frame`] holds directly.
    Packed(Encoding),
    /// `yuv422` (also `uyvy`): U Y0 V Y1 for each pair of pixels.
    Uyvy,
    /// `yuv422_yuy2` (also `yuyv`): Y0 U Y1 V for each pair of pixels.
    Yuyv,
    /// `bayer_rggb8`, `bayer_bggr8`, `bayer_gbrg8`, `bayer_grbg8`.
    Bayer(BayerOrder),
    /// 16-bit red, green, blue.
    Rgb16,
    /// 16-bit blue, green, red.
    Bgr16,
    /// 16-bit grey.
    Mono16,
}

impl WireEncoding {
    /// Parses a ROS encoding name.
    pub fn parse(name: &str) -> Result<WireEncoding, FrameError> {
        if let Ok(packed) = Encoding::parse(name) {
            return Ok(WireEncoding::Packed(packed));
        }
        Ok(match name {
            "yuv422" | "uyvy" => WireEncoding::Uyvy,
            "yuv422_yuy2" | "yuyv" => WireEncoding::Yuyv,
            "bayer_rggb8" => WireEncoding::Bayer(BayerOrder::Rggb),
            "bayer_bggr8" => WireEncoding::Bayer(BayerOrder::Bggr),
            "bayer_gbrg8" => WireEncoding::Bayer(BayerOrder::Gbrg),
            "bayer_grbg8" => WireEncoding::Bayer(BayerOrder::Grbg),
            "rgb16" => WireEncoding::Rgb16,
            "bgr16" => WireEncoding::Bgr16,
            "mono16" => WireEncoding::Mono16,
            _ => return Err(FrameError::UnknownEncoding(name.to_string())),
        })
    }

    /// The ROS encoding name (the canonical one where two are accepted).
    pub fn as_str(self) -> &'static str {
        match self {
            WireEncoding::Packed(e) => e.as_str(),
            WireEncoding::Uyvy => "yuv422",
            WireEncoding::Yuyv => "yuv422_yuy2",
            WireEncoding::Bayer(BayerOrder::Rggb) => "bayer_rggb8",
            WireEncoding::Bayer(BayerOrder::Bggr) => "bayer_bggr8",
            WireEncoding::Bayer(BayerOrder::Gbrg) => "bayer_gbrg8",
            WireEncoding::Bayer(BayerOrder::Grbg) => "bayer_grbg8",
            WireEncoding::Rgb16 => "rgb16",
            WireEncoding::Bgr16 => "bgr16",
            WireEncoding::Mono16 => "mono16",
        }
    }

    /// Bytes per pixel on the wire.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            WireEncoding::Packed(e) => e.channels(),
            WireEncoding::Uyvy | WireEncoding::Yuyv | WireEncoding::Mono16 => 2,
            WireEncoding::Bayer(_) => 1,
            WireEncoding::Rgb16 | WireEncoding::Bgr16 => 6,
        }
    }

    /// The packed encoding a converted frame has.
    pub fn decoded(self) -> Encoding {
        match self {
            WireEncoding::Packed(e) => e,
            WireEncoding::Mono16 => Encoding::Mono8,
            _ => Encoding::Rgb8,
        }
    }
}

/// An image message's fields, ROS-free; its pixel bytes owned (moved into the frame when
/// packed) or borrowed (from a message that stays where it is, copied once).
#[derive(Debug, Clone, PartialEq)]
pub struct RawImage<'a> {
    /// Capture time, seconds.
    pub stamp: f64,
    /// Sequence number from the source.
    pub seq: u64,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Encoding.
    pub encoding: WireEncoding,
    /// Row stride, bytes.
    pub step: u32,
    /// Whether 16-bit samples are big-endian (`is_bigendian`).
    pub big_endian: bool,
    /// Pixel bytes.
    pub data: Cow<'a, [u8]>,
}

impl RawImage<'_> {
    /// The image as a validated [`Frame`]. Packed encodings keep owned bytes, or copy
    /// borrowed ones into `spare`; the others are converted into `spare` (resized as
    /// needed). `spare` becomes the frame's data: hand a used frame's data back as `spare` to
    /// decode without allocating.
    pub fn into_frame(self, spare: &mut Vec<u8>) -> Result<Frame, FrameError> {
        let mut frame = Frame {
            stamp: self.stamp,
            seq: self.seq,
            width: self.width,
            height: self.height,
            encoding: self.encoding.decoded(),
            step: 0,
            data: Vec::new(),
        };
        if let WireEncoding::Packed(_) = self.encoding {
            frame.step = self.step;
            frame.data = match self.data {
                Cow::Owned(data) => data,
                Cow::Borrowed(data) => {
                    let mut out = std::mem::take(spare);
                    out.clear();
                    out.extend_from_slice(data);
                    out
                }
            };
            frame.validate()?;
            return Ok(frame);
        }
        self.validate()?;
        let (w, h) = (self.width as usize, self.height as usize);
        let out_channels = frame.encoding.channels();
        let mut out = std::mem::take(spare);
        out.clear();
        out.resize(w * h * out_channels, 0);
        let rows = (0..h)
            .map(|y| &self.data[y * self.step as usize..][..w * self.encoding.bytes_per_pixel()]);
        match self.encoding {
            WireEncoding::Packed(_) => unreachable!("returned above"),
            WireEncoding::Uyvy => yuv422_to_rgb(rows, &mut out, w, [1, 0, 3, 2]),
            WireEncoding::Yuyv => yuv422_to_rgb(rows, &mut out, w, [0, 1, 2, 3]),
            WireEncoding::Bayer(order) => demosaic(&self, order, &mut out),
            WireEncoding::Rgb16 | WireEncoding::Bgr16 | WireEncoding::Mono16 => {
                let high = usize::from(!self.big_endian);
                let swap = self.encoding == WireEncoding::Bgr16;
                for (y, row) in rows.enumerate() {
                    let dst = &mut out[y * w * out_channels..(y + 1) * w * out_channels];
                    for (d, px) in dst
                        .chunks_exact_mut(out_channels)
                        .zip(row.chunks_exact(2 * out_channels))
                    {
                        for (c, v) in d.iter_mut().enumerate() {
                            let src = if swap { out_channels - 1 - c } else { c };
                            *v = px[2 * src + high];
                        }
                    }
                }
            }
        }
        frame.step = (w * out_channels) as u32;
        frame.data = out;
        Ok(frame)
    }

    /// Checks the fields against the data, for an encoding that is converted.
    fn validate(&self) -> Result<(), FrameError> {
        check_layout(
            (self.width, self.height, self.step),
            self.encoding.bytes_per_pixel(),
            self.encoding.as_str(),
            self.data.len(),
        )?;
        if matches!(self.encoding, WireEncoding::Uyvy | WireEncoding::Yuyv) && self.width % 2 == 1 {
            return Err(FrameError::OddWidth(self.width));
        }
        Ok(())
    }
}

/// The largest compressed image decoded, pixels a side: a header claiming more is refused
/// before anything is allocated.
pub const MAX_DECODED_SIDE: usize = 8192;

/// A compressed camera image (`sensor_msgs/CompressedImage`: JPEG or PNG, as
/// compressed_image_transport writes them) decoded into an `rgb8` frame. The container is
/// recognised from its bytes; `format` (the message's, e.g. `bgr8; jpeg compressed bgr8`) only
/// names it in errors. A JPEG is decoded straight into `spare` (which becomes the frame's
/// data: hand a used frame's data back to decode without allocating).
pub fn decode_compressed(
    stamp: f64,
    seq: u64,
    format: &str,
    data: &[u8],
    spare: &mut Vec<u8>,
) -> Result<Frame, FrameError> {
    let undecodable = |reason: String| FrameError::Undecodable {
        format: format.to_string(),
        reason,
    };
    let kind =
        image::guess_format(data).map_err(|_| undecodable("neither JPEG nor PNG data".into()))?;
    let mut frame = match kind {
        image::ImageFormat::Jpeg => decode_jpeg(data, spare).map_err(undecodable)?,
        image::ImageFormat::Png => {
            let mut reader = image::ImageReader::with_format(std::io::Cursor::new(data), kind);
            let mut limits = image::Limits::default();
            limits.max_image_width = Some(MAX_DECODED_SIDE as u32);
            limits.max_image_height = Some(MAX_DECODED_SIDE as u32);
            reader.limits(limits);
            let decoded = reader.decode().map_err(|e| undecodable(e.to_string()))?;
            Frame::from_rgb_image(decoded.into_rgb8())
        }
        other => return Err(undecodable(format!("{other:?} data; expected JPEG or PNG"))),
    };
    (frame.stamp, frame.seq) = (stamp, seq);
    frame.validate()?;
    Ok(frame)
}

/// A JPEG decoded as RGB into `spare` (zune-jpeg, the decoder `image` uses, called directly
/// so it writes into the reused buffer).
fn decode_jpeg(data: &[u8], spare: &mut Vec<u8>) -> Result<Frame, String> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_DECODED_SIDE)
        .set_max_height(MAX_DECODED_SIDE);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
    decoder.decode_headers().map_err(|e| e.to_string())?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| "no image size in the JPEG header".to_string())?;
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| "no image size in the JPEG header".to_string())?;
    if size != width * height * 3 {
        return Err(format!(
            "{width}x{height} decodes to {size} bytes, not RGB's {}",
            width * height * 3
        ));
    }
    let mut out = std::mem::take(spare);
    out.clear();
    out.resize(size, 0);
    if let Err(e) = decoder.decode_into(&mut out) {
        *spare = out;
        return Err(e.to_string());
    }
    Ok(Frame {
        stamp: 0.0,
        seq: 0,
        width: width as u32,
        height: height as u32,
        encoding: Encoding::Rgb8,
        step: (width * 3) as u32,
        data: out,
    })
}

/// BT.601 limited range, as OpenCV's 4:2:2 conversions: (Y, U, V) → RGB, rounded and clamped.
#[inline]
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let y = 1.164 * (y as f32 - 16.0).max(0.0);
    let (u, v) = (u as f32 - 128.0, v as f32 - 128.0);
    let level = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [
        level(y + 1.596 * v),
        level(y - 0.813 * v - 0.391 * u),
        level(y + 2.018 * u),
    ]
}

/// 4:2:2 rows → RGB. `at` = byte positions of Y0, U, Y1, V within each 4-byte pair.
fn yuv422_to_rgb<'a>(
    rows: impl Iterator<Item = &'a [u8]>,
    out: &mut [u8],
    width: usize,
    at: [usize; 4],
) {
    for (y, row) in rows.enumerate() {
        let dst = &mut out[y * width * 3..(y + 1) * width * 3];
        for (d, pair) in dst.chunks_exact_mut(6).zip(row.chunks_exact(4)) {
            let (u, v) = (pair[at[1]], pair[at[3]]);
            d[..3].copy_from_slice(&yuv_to_rgb(pair[at[0]], u, v));
            d[3..].copy_from_slice(&yuv_to_rgb(pair[at[2]], u, v));
        }
    }
}

/// Bilinear demosaicing: each missing colour is the mean of the nearest samples of it (the
/// horizontal pair, the vertical pair, the four orthogonal or the four diagonal neighbours),
/// with borders mirrored (which keeps the colour pattern).
fn demosaic(raw: &RawImage, order: BayerOrder, out: &mut [u8]) {
    let (w, h, step) = (raw.width as usize, raw.height as usize, raw.step as usize);
    let mirror = |i: isize, n: usize| -> usize {
        if n == 1 {
            0
        } else if i < 0 {
            (-i) as usize
        } else if i as usize >= n {
            2 * (n - 1) - i as usize
        } else {
            i as usize
        }
    };
    let at = |x: usize, y: usize| raw.data[y * step + x] as u32;
    for y in 0..h {
        let (up, down) = (mirror(y as isize - 1, h), mirror(y as isize + 1, h));
        for x in 0..w {
            let (left, right) = (mirror(x as isize - 1, w), mirror(x as isize + 1, w));
            let own = at(x, y);
            let horizontal = (at(left, y) + at(right, y)).div_ceil(2);
            let vertical = (at(x, up) + at(x, down)).div_ceil(2);
            let orthogonal = (at(left, y) + at(right, y) + at(x, up) + at(x, down) + 2) / 4;
            let diagonal =
                (at(left, up) + at(right, up) + at(left, down) + at(right, down) + 2) / 4;
            let rgb = match order.colour(x, y) {
                0 => [own, orthogonal, diagonal],
                2 => [diagonal, orthogonal, own],
                // Green: red on the row (or column) where red samples sit beside it.
                _ if order.colour(x ^ 1, y) == 0 => [horizontal, own, vertical],
                _ => [vertical, own, horizontal],
            };
            let d = &mut out[(y * w + x) * 3..][..3];
            for (o, v) in d.iter_mut().zip(rgb) {
                *o = v as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(encoding: &str, width: u32, height: u32, step: u32, data: Vec<u8>) -> RawImage<'static> {
        RawImage {
            stamp: 1.5,
            seq: 7,
            width,
            height,
            encoding: WireEncoding::parse(encoding).unwrap(),
            step,
            big_endian: false,
            data: Cow::Owned(data),
        }
    }

    #[test]
    fn packed_frames_keep_their_bytes() {
        let data: Vec<u8> = (0..24).collect();
        let ptr = data.as_ptr();
        let f = raw("bgr8", 2, 3, 8, data)
            .into_frame(&mut Vec::new())
            .unwrap();
        assert_eq!(
            (f.encoding, f.step, f.stamp, f.seq),
            (Encoding::Bgr8, 8, 1.5, 7)
        );
        assert_eq!(f.data.as_ptr(), ptr, "moved, not copied");
    }

    #[test]
    fn yuv422_matches_opencvs_bt601_conversion() {
        // Grey (Y 126, U = V = 128) and a saturated red (Y 82, U 90, V 240): OpenCV 4's
        // cv2.cvtColor(..., COLOR_YUV2RGB_UYVY / _YUY2) gives (128, 128, 128) and (255, 1, 0).
        let uyvy = vec![128, 126, 128, 126, 90, 82, 240, 82];
        let yuyv = vec![126, 128, 126, 128, 82, 90, 82, 240];
        for (name, data) in [("yuv422", uyvy), ("yuyv", yuyv)] {
            let f = raw(name, 4, 1, 8, data)
                .into_frame(&mut Vec::new())
                .unwrap();
            assert_eq!(f.encoding, Encoding::Rgb8);
            let pixels: Vec<[u8; 3]> = (0..4).map(|x| f.rgb(x, 0)).collect();
            assert_eq!(
                pixels,
                [[128; 3], [128; 3], [255, 1, 0], [255, 1, 0]],
                "{name}"
            );
        }
        let e = raw("yuv422", 3, 1, 6, vec![0; 6]).into_frame(&mut Vec::new());
        assert_eq!(e.unwrap_err(), FrameError::OddWidth(3));
    }

    /// A 6x4 scene of one colour, seen through the `order` filter.
    fn mosaic(order: BayerOrder, rgb: [u8; 3]) -> Vec<u8> {
        (0..4)
            .flat_map(|y| (0..6).map(move |x| rgb[order.colour(x, y)]))
            .collect()
    }

    #[test]
    fn every_bayer_order_recovers_a_flat_colour_everywhere() {
        for (name, order) in [
            ("bayer_rggb8", BayerOrder::Rggb),
            ("bayer_bggr8", BayerOrder::Bggr),
            ("bayer_gbrg8", BayerOrder::Gbrg),
            ("bayer_grbg8", BayerOrder::Grbg),
        ] {
            let f = raw(name, 6, 4, 6, mosaic(order, [200, 100, 30]))
                .into_frame(&mut Vec::new())
                .unwrap();
            for y in 0..4 {
                for x in 0..6 {
                    assert_eq!(f.rgb(x, y), [200, 100, 30], "{name} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn bayer_green_sites_take_red_from_the_red_row() {
        // RGGB: on row 0 the greens sit between reds, on row 1 between blues.
        let mut data = mosaic(BayerOrder::Rggb, [0, 0, 0]);
        for y in 0..4 {
            for x in 0..6 {
                if BayerOrder::Rggb.colour(x, y) == 0 {
                    data[y * 6 + x] = 240;
                }
            }
        }
        let f = raw("bayer_rggb8", 6, 4, 6, data)
            .into_frame(&mut Vec::new())
            .unwrap();
        assert_eq!(
            f.rgb(1, 0)[0],
            240,
            "green in a red row: red from left and right"
        );
        assert_eq!(
            f.rgb(0, 1)[0],
            240,
            "green in a blue row: red from above and below"
        );
        assert_eq!(f.rgb(1, 1)[0], 240, "blue site: red from the diagonals");
    }

    #[test]
    fn sixteen_bit_keeps_the_high_byte_in_either_byte_order() {
        // One pixel, r g b = 0x1234 0xabcd 0xff00 (little-endian), then big-endian.
        let little = vec![0x34, 0x12, 0xcd, 0xab, 0x00, 0xff];
        let f = raw("rgb16", 1, 1, 6, little.clone())
            .into_frame(&mut Vec::new())
            .unwrap();
        assert_eq!(f.rgb(0, 0), [0x12, 0xab, 0xff]);
        let f = raw("bgr16", 1, 1, 6, little)
            .into_frame(&mut Vec::new())
            .unwrap();
        assert_eq!(f.rgb(0, 0), [0xff, 0xab, 0x12]);
        let mut big = raw("mono16", 2, 1, 4, vec![0x12, 0x34, 0xab, 0xcd]);
        big.big_endian = true;
        let f = big.into_frame(&mut Vec::new()).unwrap();
        assert_eq!(
            (f.encoding, f.data.as_slice()),
            (Encoding::Mono8, &[0x12, 0xab][..])
        );
    }

    #[test]
    fn conversion_reuses_the_spare_buffer_and_honours_the_step() {
        // 2x2 UYVY with 4 bytes of row padding.
        let data = vec![
            128, 126, 128, 126, 9, 9, 9, 9, 128, 126, 128, 126, 9, 9, 9, 9,
        ];
        let mut spare = Vec::with_capacity(64);
        let ptr = spare.as_ptr();
        let f = raw("uyvy", 2, 2, 8, data).into_frame(&mut spare).unwrap();
        assert_eq!((f.step, f.data.len(), f.data.as_ptr()), (6, 12, ptr));
        assert!(f.validate().is_ok());
        assert!(f.data.iter().all(|&v| v.abs_diff(128) <= 1));
    }

    #[test]
    fn compressed_images_decode_to_rgb8_and_bad_ones_are_named() {
        let mut picture = image::RgbImage::new(8, 4);
        for (x, y, px) in picture.enumerate_pixels_mut() {
            *px = image::Rgb([x as u8 * 30, y as u8 * 60, 200]);
        }
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let f =
            decode_compressed(2.0, 3, "rgb8; png compressed rgb8", &png, &mut Vec::new()).unwrap();
        assert_eq!(
            (f.width, f.height, f.encoding, f.stamp, f.seq),
            (8, 4, Encoding::Rgb8, 2.0, 3)
        );
        assert_eq!(f.rgb(7, 3), [210, 180, 200]);
        let mut jpeg = Vec::new();
        picture
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        // Decoded into the buffer handed in: no allocation of its own.
        let mut spare = Vec::with_capacity(4096);
        let at = spare.as_ptr();
        let f = decode_compressed(0.0, 1, "jpeg", &jpeg, &mut spare).unwrap();
        assert_eq!(
            (f.data.as_ptr(), f.step, f.encoding),
            (at, 24, Encoding::Rgb8)
        );
        let [r, g, b] = f.rgb(4, 2);
        assert!(r.abs_diff(120) < 16 && g.abs_diff(120) < 16 && b.abs_diff(200) < 16);
        let cut = decode_compressed(0.0, 1, "jpeg", &jpeg[..jpeg.len() / 2], &mut Vec::new())
            .unwrap_err();
        assert!(matches!(cut, FrameError::Undecodable { .. }), "{cut}");
        // A header claiming a huge picture is refused before anything is allocated.
        let mut huge = jpeg.clone();
        let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        huge[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xF0, 0xFF, 0xF0]);
        let e = decode_compressed(0.0, 1, "jpeg", &huge, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, FrameError::Undecodable { .. }), "{e}");
        let e = decode_compressed(
            0.0,
            1,
            "bgr8; jpeg compressed bgr8",
            b"not an image",
            &mut Vec::new(),
        );
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("bgr8; jpeg compressed bgr8") && e.contains("neither JPEG nor PNG"),
            "{e}"
        );
    }

    #[test]
    fn borrowed_packed_bytes_are_copied_once_into_the_spare_buffer() {
        let data: Vec<u8> = (0..24).collect();
        let mut image = raw("rgb8", 2, 4, 6, Vec::new());
        image.data = Cow::Borrowed(&data);
        let mut spare = Vec::with_capacity(64);
        let at = spare.as_ptr();
        let f = image.into_frame(&mut spare).unwrap();
        assert_eq!((f.data.as_ptr(), f.data.as_slice()), (at, data.as_slice()));
    }

    #[test]
    fn names_round_trip() {
        for name in crate::base::sensor::SUPPORTED_ENCODINGS.split(", ") {
            let name = name.split(' ').next().unwrap();
            assert_eq!(WireEncoding::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(WireEncoding::parse("uyvy"), Ok(WireEncoding::Uyvy));
        assert_eq!(WireEncoding::parse("yuyv"), Ok(WireEncoding::Yuyv));
    }

    #[test]
    fn malformed_images_are_errors_naming_the_fault() {
        let short = raw("bayer_rggb8", 6, 4, 6, vec![0; 20]).into_frame(&mut Vec::new());
        assert!(matches!(
            short,
            Err(FrameError::Truncated { actual: 20, .. })
        ));
        let narrow = raw("rgb16", 4, 1, 8, vec![0; 8]).into_frame(&mut Vec::new());
        let e = narrow.unwrap_err().to_string();
        assert!(
            e.contains("step 8 is smaller than width 4 x 6 bytes") && e.contains("rgb16"),
            "{e}"
        );
        let e = WireEncoding::parse("nv12").unwrap_err().to_string();
        assert!(e.contains("'nv12'") && e.contains("bayer_grbg8"), "{e}");
    }
}
