//! A network and the expert on camera pictures: each image (PNG or JPEG; a file, or every
//! image of a folder) read as the camera sent it and answered with (v, w) — the first thing a
//! user does with a network and a frame from their own Gazebo.
//!
//! The network answers a picture as it answers a frame while driving (its description's crop,
//! resize and output mapping); a picture it refuses (another size than its description's
//! frame) gets the reason instead. The expert has acceleration limits and follows the line from
//! frame to frame, so its first answer to a picture starts from a standstill: it is shown the
//! same picture until its answer settles, and its answer is what a dataset labels the picture
//! with (its target speed, and the yaw rate of its curvature at that speed).

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::base::camera::CameraConfig;
use crate::base::control::Command;
use crate::base::sensor::Frame;
use crate::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot};
use crate::tools::dataset::read_image;

/// Frames the expert is shown one picture for: its speed settles within two seconds of
/// camera time at 20 Hz.
pub const EXPERT_SETTLE_FRAMES: usize = 60;

/// Why pictures could not be answered. Every error names the file or folder.
#[derive(Debug, Error)]
pub enum PredictError {
    /// A path given is neither an image nor a folder.
    #[error("{path}: {reason}")]
    Input {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A picture that cannot be decoded.
    #[error("image {path}: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
}

/// One pilot's answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Answer {
    /// Forward speed, m/s.
    pub v: f64,
    /// Yaw rate, rad/s.
    pub w: f64,
}

impl From<Command> for Answer {
    fn from(c: Command) -> Self {
        Answer { v: c.v, w: c.w }
    }
}

/// The answers to one picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The picture.
    pub image: PathBuf,
    /// Its size, pixels.
    pub width: u32,
    /// Its size, pixels.
    pub height: u32,
    /// The network's answer (none without a network, or where it refused the picture).
    pub network: Option<Answer>,
    /// Why the network gave no answer, where it refused the picture.
    pub network_note: Option<String>,
    /// The expert's settled answer; none when it finds no red line in the picture or the
    /// picture is not its camera's size.
    pub expert: Option<Answer>,
    /// Why the expert gave no answer, when it gave none.
    pub expert_note: Option<String>,
}

/// Extensions read as pictures.
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

fn is_picture(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The pictures `paths` name: files as given, folders as their PNG and JPEG files in name
/// order. A missing path, or a folder without a picture, is an error naming it.
pub fn pictures(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PredictError> {
    let mut out = Vec::new();
    for path in paths {
        let input = |reason: String| PredictError::Input {
            path: path.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| input(format!("cannot read it: {e}")))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| input(format!("cannot list it: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_picture(p))
                .collect();
            if found.is_empty() {
                return Err(input("a folder with no PNG or JPEG picture".into()));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    if out.is_empty() {
        return Err(PredictError::Input {
            path: PathBuf::from("(none)"),
            reason: "no picture given".into(),
        });
    }
    Ok(out)
}

/// The expert's settled answer to `frame`, or why it has none.
fn expert_answer(camera: CameraConfig, frame: &Frame) -> Result<Answer, String> {
    if frame.width != camera.width || frame.height != camera.height {
        return Err(format!(
            "the expert reads its camera's {}x{} frames",
            camera.width, camera.height
        ));
    }
    let mut expert = ExpertPilot::new(camera, ExpertConfig::default());
    for _ in 0..EXPERT_SETTLE_FRAMES {
        expert.drive(frame, None).map_err(|e| e.to_string())?;
    }
    expert
        .sighting()
        .label()
        .map(Answer::from)
        .ok_or_else(|| "no red line found".into())
}

/// Answers every picture of `images` with `network` (if any) and the expert of `camera`.
pub fn predict(
    images: &[PathBuf],
    mut network: Option<&mut NetworkPilot>,
    camera: CameraConfig,
) -> Result<Vec<Prediction>, PredictError> {
    images
        .iter()
        .map(|path| {
            let frame = read_image(path).map_err(|e| PredictError::Image {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let (network, network_note) =
                match network.as_deref_mut().map(|n| n.drive(&frame, None)) {
                    Some(Ok(c)) => (Some(Answer::from(c)), None),
                    Some(Err(e)) => (None, Some(e.to_string())),
                    None => (None, None),
                };
            let (expert, expert_note) = match expert_answer(camera, &frame) {
                Ok(a) => (Some(a), None),
                Err(note) => (None, Some(note)),
            };
            Ok(Prediction {
                image: path.clone(),
                width: frame.width,
                height: frame.height,
                network,
                network_note,
                expert,
                expert_note,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::{Capture, World, WorldConfig};
    use crate::sim::{Look, Track};

    /// The simulator's frame from the start of lakeside, written as `name` in `dir`.
    fn picture(dir: &Path, name: &str) -> PathBuf {
        let track = Track::load("lakeside", None, false, Look::BehaviorMetrics).unwrap();
        let world = World::new(&track, &WorldConfig::default()).unwrap();
        let mut frame = world.camera().new_frame();
        let capture = Capture {
            stamp: 0.0,
            seq: 1,
            pose: track.circuit.start_pose(),
        };
        world.camera().render(&capture, &mut frame);
        let path = dir.join(name);
        frame.save_png(&path).unwrap();
        path
    }

    #[test]
    fn the_expert_answers_a_picture_of_the_line_and_says_why_not_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let road = picture(dir.path(), "road.png");
        // A picture of grey asphalt only, and one of another size.
        let blank = dir.path().join("blank.png");
        image::RgbImage::from_pixel(640, 480, image::Rgb([50, 48, 49]))
            .save(&blank)
            .unwrap();
        let small = dir.path().join("small.jpg");
        image::RgbImage::from_pixel(320, 240, image::Rgb([50, 48, 49]))
            .save(&small)
            .unwrap();
        let all = pictures(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(all, vec![blank.clone(), road.clone(), small.clone()]);
        let p = predict(&all, None, CameraConfig::behavior_metrics_f1()).unwrap();
        // On the straight start of lakeside: fast, barely turning.
        let road = p[1].expert.unwrap();
        assert!(road.v > 8.0 && road.w.abs() < 0.3, "{road:?}");
        assert_eq!(p[0].expert, None);
        assert_eq!(p[0].expert_note.as_deref(), Some("no red line found"));
        assert!(p[2].expert_note.as_deref().unwrap().contains("640x480"));
        assert!(p.iter().all(|x| x.network.is_none()));
    }

    #[test]
    fn bad_inputs_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let e = pictures(&[dir.path().join("missing.png")]).unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
        let e = pictures(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(e.to_string().contains("no PNG or JPEG"), "{e}");
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"not a picture").unwrap();
        let e = predict(&[junk], None, CameraConfig::behavior_metrics_f1()).unwrap_err();
        assert!(e.to_string().contains("junk.png"), "{e}");
    }
}
