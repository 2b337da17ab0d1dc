//! Sensor data the pipeline consumes: ROS-free mirrors of `sensor_msgs/Image` and
//! `nav_msgs/Odometry`.
//!
//! The simulator produces these directly; the ROS node (feature `ros2`) converts messages into
//! them, so the core never sees a ROS type.

use std::fmt;

use thiserror::Error;

use crate::base::geometry::Pose2;

/// Pixel encodings understood by the pipeline (names as in `sensor_msgs/image_encodings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 8-bit red, green, blue.
    Rgb8,
    /// 8-bit blue, green, red.
    Bgr8,
    /// 8-bit red, green, blue, alpha.
    Rgba8,
    /// 8-bit blue, green, red, alpha.
    Bgra8,
    /// 8-bit grey.
    Mono8,
}

impl Encoding {
    /// Every supported encoding.
    pub const ALL: [Encoding; 5] = [
        Encoding::Rgb8,
        Encoding::Bgr8,
        Encoding::Rgba8,
        Encoding::Bgra8,
        Encoding::Mono8,
    ];

    /// Parses a ROS encoding name.
    pub fn parse(name: &str) -> Result<Encoding, FrameError> {
        Encoding::ALL
            .into_iter()
            .find(|e| e.as_str() == name)
            .ok_or_else(|| FrameError::UnknownEncoding(name.to_string()))
    }
    /// The ROS encoding name.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Rgb8 => "rgb8",
            Encoding::Bgr8 => "bgr8",
            Encoding::Rgba8 => "rgba8",
            Encoding::Bgra8 => "bgra8",
            Encoding::Mono8 => "mono8",
        }
    }
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Encoding::Rgb8 | Encoding::Bgr8 => 3,
            Encoding::Rgba8 | Encoding::Bgra8 => 4,
            Encoding::Mono8 => 1,
        }
    }
    /// Byte offsets of red, green and blue within a pixel (all 0 for mono).
    pub fn rgb_offsets(self) -> [usize; 3] {
        match self {
            Encoding::Rgb8 | Encoding::Rgba8 => [0, 1, 2],
            Encoding::Bgr8 | Encoding::Bgra8 => [2, 1, 0],
            Encoding::Mono8 => [0, 0, 0],
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every image encoding name this project reads (`raw_image::WireEncoding::parse`).
pub const SUPPORTED_ENCODINGS: &str = "rgb8, bgr8, rgba8, bgra8, mono8, yuv422 (uyvy), \
                                       yuv422_yuy2 (yuyv), bayer_rggb8, bayer_bggr8, \
                                       bayer_gbrg8, bayer_grbg8, rgb16, bgr16, mono16";

/// What is wrong with an image.
#[derive(Debug, Error, PartialEq)]
pub enum FrameError {
    /// The encoding is not one this project reads.
    #[error("image encoding '{0}' is not supported (expected one of {SUPPORTED_ENCODINGS})")]
    UnknownEncoding(String),
    /// A compressed image that does not decode.
    #[error("compressed image ({format}) does not decode: {reason}")]
    Undecodable {
        /// The message's format string.
        format: String,
        /// Why.
        reason: String,
    },
    /// A 4:2:2 image of odd width (its pixels come in pairs).
    #[error("image is a 4:2:2 YUV image {0} pixels wide: the width must be even")]
    OddWidth(u32),
    /// Width or height is zero.
    #[error("image is {width}x{height}: width and height must be positive")]
    Empty {
        /// Width, pixels.
        width: u32,
        /// Height, pixels.
        height: u32,
    },
    /// The row stride is smaller than a row of pixels.
    #[error(
        "image step {step} is smaller than width {width} x {channels} bytes per pixel ({encoding})"
    )]
    StepTooSmall {
        /// Row stride, bytes.
        step: u32,
        /// Width, pixels.
        width: u32,
        /// Bytes per pixel.
        channels: usize,
        /// Encoding name.
        encoding: &'static str,
    },
    /// Fewer bytes than `step * height`.
    #[error("image data is truncated: {actual} bytes, expected step {step} x height {height} = {expected}")]
    Truncated {
        /// Bytes present.
        actual: usize,
        /// Bytes required.
        expected: usize,
        /// Row stride.
        step: u32,
        /// Rows.
        height: u32,
    },
    /// The image is the wrong size for the consumer.
    #[error("image is {width}x{height}, expected {expected_width}x{expected_height}")]
    WrongSize {
        /// Width, pixels.
        width: u32,
        /// Height, pixels.
        height: u32,
        /// Expected width.
        expected_width: u32,
        /// Expected height.
        expected_height: u32,
    },
    /// The consumer needs colour and got grey.
    #[error("image encoding {0} has no colour; this consumer needs rgb8, bgr8, rgba8 or bgra8")]
    NeedsColour(Encoding),
}

/// Checks an image's `(width, height, step)` against its bytes per pixel and its byte count:
/// non-empty, rows at least a row of pixels long, `step * height` bytes present.
pub fn check_layout(
    (width, height, step): (u32, u32, u32),
    bytes_per_pixel: usize,
    encoding: &'static str,
    len: usize,
) -> Result<(), FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::Empty { width, height });
    }
    if (step as usize) < width as usize * bytes_per_pixel {
        return Err(FrameError::StepTooSmall {
            step,
            width,
            channels: bytes_per_pixel,
            encoding,
        });
    }
    let expected = step as usize * height as usize;
    if len < expected {
        return Err(FrameError::Truncated {
            actual: len,
            expected,
            step,
            height,
        });
    }
    Ok(())
}

/// A camera image, laid out like `sensor_msgs/Image`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Capture time, seconds (simulated time in the simulator, header stamp on ROS).
    pub stamp: f64,
    /// Sequence number from the source.
    pub seq: u64,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Pixel encoding.
    pub encoding: Encoding,
    /// Row stride, bytes (may exceed `width * channels`: row padding).
    pub step: u32,
    /// Pixel bytes, `step * height` of them.
    pub data: Vec<u8>,
}

impl Frame {
    /// A black `rgb8` image with no row padding.
    pub fn new_rgb8(width: u32, height: u32) -> Frame {
        Frame::from_rgb_image(image::RgbImage::new(width, height))
    }

    /// Checks that the fields describe the data.
    pub fn validate(&self) -> Result<(), FrameError> {
        check_layout(
            (self.width, self.height, self.step),
            self.encoding.channels(),
            self.encoding.as_str(),
            self.data.len(),
        )
    }

    /// Checks that the fields describe the data and the image is `width`×`height`.
    pub fn validate_size(&self, width: u32, height: u32) -> Result<(), FrameError> {
        self.validate()?;
        if self.width != width || self.height != height {
            return Err(FrameError::WrongSize {
                width: self.width,
                height: self.height,
                expected_width: width,
                expected_height: height,
            });
        }
        Ok(())
    }

    /// An `rgb8` frame holding `image`'s pixels (no row padding).
    pub fn from_rgb_image(image: image::RgbImage) -> Frame {
        let (width, height) = image.dimensions();
        Frame {
            stamp: 0.0,
            seq: 0,
            width,
            height,
            encoding: Encoding::Rgb8,
            step: width * 3,
            data: image.into_raw(),
        }
    }

    /// Red, green, blue of pixel (x, y). The frame must be valid and (x, y) inside it.
    #[inline]
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let base = y as usize * self.step as usize + x as usize * self.encoding.channels();
        let [r, g, b] = self.encoding.rgb_offsets();
        [
            self.data[base + r],
            self.data[base + g],
            self.data[base + b],
        ]
    }

    /// Writes the image as a PNG (converted to RGB).
    pub fn save_png(&self, path: &std::path::Path) -> Result<(), image::ImageError> {
        let mut rgb = image::RgbImage::new(self.width, self.height);
        for (x, y, px) in rgb.enumerate_pixels_mut() {
            *px = image::Rgb(self.rgb(x, y));
        }
        rgb.save(path)
    }
}

/// Vehicle odometry, as in `nav_msgs/Odometry` restricted to the plane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Odometry {
    /// Time, seconds.
    pub stamp: f64,
    /// Pose in the world (odom) frame.
    pub pose: Pose2,
    /// Forward speed, m/s (`twist.linear.x`).
    pub v: f64,
    /// Yaw rate, rad/s (`twist.angular.z`).
    pub w: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        for e in Encoding::ALL {
            assert_eq!(Encoding::parse(e.as_str()), Ok(e));
        }
        assert!(matches!(
            Encoding::parse("yuv422"),
            Err(FrameError::UnknownEncoding(_))
        ));
        assert!(FrameError::UnknownEncoding("x".into())
            .to_string()
            .contains("mono16"));
    }

    #[test]
    fn validation_names_the_problem() {
        let mut f = Frame::new_rgb8(4, 3);
        assert!(f.validate().is_ok());
        f.data.truncate(20);
        let e = f.validate().unwrap_err();
        assert!(e.to_string().contains("truncated: 20 bytes"), "{e}");
        let mut g = Frame::new_rgb8(4, 3);
        g.step = 10;
        assert!(matches!(g.validate(), Err(FrameError::StepTooSmall { .. })));
    }

    #[test]
    fn rgb_reads_padded_bgra() {
        let mut f = Frame {
            stamp: 0.0,
            seq: 0,
            width: 2,
            height: 2,
            encoding: Encoding::Bgra8,
            step: 12,
            data: vec![0; 24],
        };
        // Pixel (1, 1): offset 12 + 4.
        f.data[16..20].copy_from_slice(&[10, 20, 30, 255]);
        assert!(f.validate().is_ok());
        assert_eq!(f.rgb(1, 1), [30, 20, 10]);
    }
}
