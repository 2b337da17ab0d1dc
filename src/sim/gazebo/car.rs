//! Behavior Metrics' car as a world includes it (`f1_renault`, the old `f1` and `f1ROS`):
//! where it starts, which way it drives, and the camera it carries — the sensor's link and
//! pose, field of view, resolution, clip planes and rate, read from the car's own SDF.
//!
//! The car drives the way its camera looks: `f1_renault`'s camera looks along the model's x
//! axis, the old car's is turned −1.57 rad and looks along −y, so the same include pose faces
//! the two cars different ways. A car whose folder is found neither on `GAZEBO_MODEL_PATH` nor
//! beside the world keeps the include's own heading and the current F1 camera
//! ([`CameraConfig::behavior_metrics_f1`]); a car file that is found but broken is an error
//! naming it, as Gazebo refuses it.

use std::path::{Path, PathBuf};

use roxmltree::Node;

use super::sdf::{error, link_meshes, model_file, numbers, pose, resolve, text_of, MeshVisual};
use super::{Mat4, WorldError};
use crate::base::camera::{CameraConfig, CameraMount};

/// The car a world includes, as placed there.
#[derive(Debug, Clone, PartialEq)]
pub struct Car {
    /// Where it starts and which way it drives: x, y (its model origin) and the heading its
    /// camera looks in.
    pub start: (f64, f64, f64),
    /// Its camera, when the car's SDF was found and has one.
    pub camera: Option<CameraConfig>,
    /// The car's SDF file, when found.
    pub file: Option<PathBuf>,
    /// Its body's COLLADA meshes, placed in the car's frame (x ahead, y left, z up from its
    /// origin). Other geometry (the camera's marker spheres) and other mesh formats
    /// (`f1_renault`'s `Car.obj`, which ends inside the camera's near clip) are not drawn.
    pub body: Vec<MeshVisual>,
}

/// Frame rate used for a camera whose `<update_rate>` is 0 (as fast as the simulator runs):
/// Behavior Metrics' cameras all ask for 20 Hz.
const UNTHROTTLED_RATE_HZ: f64 = 20.0;

/// The car the world at `world` includes as `uri`, placed by `placement`.
pub fn place(world: &Path, uri: &str, placement: &Mat4) -> Result<Car, WorldError> {
    let origin = placement.apply([0.0; 3]);
    let ahead = placement.apply([1.0, 0.0, 0.0]);
    let include_heading = (ahead[1] - origin[1]).atan2(ahead[0] - origin[0]);
    let fallback = |why: &str| {
        tracing::info!(car = uri, why, "the car's camera is the current F1 camera");
        Car {
            start: (origin[0], origin[1], include_heading),
            camera: None,
            file: None,
            body: Vec::new(),
        }
    };
    let Ok(dir) = resolve(world, uri) else {
        return Ok(fallback(
            "its model is not on GAZEBO_MODEL_PATH nor beside the world",
        ));
    };
    let Some(file) = model_file(&dir) else {
        return Ok(fallback("its folder has no model.sdf"));
    };
    let text = std::fs::read_to_string(&file).map_err(|e| error(&file, e.to_string()))?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| error(&file, format!("not valid XML: {e}")))?;
    let model = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("model"))
        .ok_or_else(|| error(&file, "a car's SDF holds no <model>"))?;
    // An include's pose replaces the model's own, as in Gazebo. The car is dynamic: whatever
    // roll or pitch it is spawned with (Montmeló's world gives 0.01 rad), it settles on its
    // wheels, so its camera is placed from the include's position and heading only.
    let level = Mat4::pose(origin, [0.0, 0.0, include_heading]);
    let Some((sensor_frame, sensor)) = camera_sensor(&file, model, &level)? else {
        let mut car = fallback("its SDF has no camera sensor");
        car.file = Some(file);
        return Ok(car);
    };
    let camera = camera_config(&file, sensor, &sensor_frame, &level)?;
    let heading = {
        let c = sensor_frame.apply([0.0; 3]);
        let f = sensor_frame.apply([1.0, 0.0, 0.0]);
        (f[1] - c[1]).atan2(f[0] - c[0])
    };
    tracing::debug!(file = %file.display(), ?camera, heading, "the car's camera");
    // The car's frame: its origin, x the way it drives.
    let car_frame = Mat4::pose([0.0; 3], [0.0, 0.0, include_heading - heading]);
    let body = body(&file, model, &car_frame)?;
    Ok(Car {
        start: (origin[0], origin[1], heading),
        camera: Some(camera),
        file: Some(file),
        body,
    })
}

/// The COLLADA meshes the links of `model` draw, placed by `frame`.
fn body(file: &Path, model: Node, frame: &Mat4) -> Result<Vec<MeshVisual>, WorldError> {
    let mut meshes = Vec::new();
    for link in model.children().filter(|n| n.has_tag_name("link")) {
        for (visual, kind) in link_meshes(file, link, frame, &mut meshes)? {
            tracing::debug!(file = %file.display(), visual, kind, "the car's visual is not drawn");
        }
    }
    meshes.retain(|m| {
        let dae = m
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("dae"));
        if !dae {
            tracing::debug!(mesh = %m.file.display(), "the car's mesh is not COLLADA: not drawn");
        }
        dae
    });
    Ok(meshes)
}

/// The car's camera sensor and its frame in the world: the first camera whose name says
/// `left` (Behavior Metrics reads `cam_f1_left`), else the first camera.
fn camera_sensor<'a, 'i>(
    file: &Path,
    model: Node<'a, 'i>,
    placement: &Mat4,
) -> Result<Option<(Mat4, Node<'a, 'i>)>, WorldError> {
    let mut cameras = Vec::new();
    for link in model.children().filter(|n| n.has_tag_name("link")) {
        let link_frame = placement.mul(&pose(file, link)?);
        for sensor in link.children().filter(|n| n.has_tag_name("sensor")) {
            if sensor.attribute("type") == Some("camera") {
                cameras.push((link_frame.mul(&pose(file, sensor)?), sensor));
            }
        }
    }
    let left = cameras.iter().position(|(_, s)| {
        s.attribute("name")
            .is_some_and(|n| n.to_ascii_lowercase().contains("left"))
    });
    Ok(match left {
        Some(i) => Some(cameras.swap_remove(i)),
        None => cameras.into_iter().next(),
    })
}

/// A number element of `node` (its path of tags below it), or `default` when absent.
fn number(file: &Path, node: Node, tags: &[&str], default: f64) -> Result<f64, WorldError> {
    let mut at = node;
    for tag in &tags[..tags.len() - 1] {
        match at.children().find(|n| n.has_tag_name(*tag)) {
            Some(n) => at = n,
            None => return Ok(default),
        }
    }
    match text_of(at, tags[tags.len() - 1]) {
        Some(text) => Ok(numbers(file, text, 1, tags[tags.len() - 1])?[0]),
        None => Ok(default),
    }
}

/// The camera of `sensor` (at `frame` in the world) on the car placed by `placement`, with
/// SDF's defaults where the file is silent.
fn camera_config(
    file: &Path,
    sensor: Node,
    frame: &Mat4,
    placement: &Mat4,
) -> Result<CameraConfig, WorldError> {
    let name = sensor.attribute("name").unwrap_or("(unnamed)");
    let camera = sensor
        .children()
        .find(|n| n.has_tag_name("camera"))
        .ok_or_else(|| error(file, format!("camera sensor '{name}' has no <camera>")))?;
    let size = |tag: &str, default: f64| -> Result<u32, WorldError> {
        let v = number(file, camera, &["image", tag], default)?;
        if v.fract() != 0.0 || !(1.0..=65536.0).contains(&v) {
            return Err(error(
                file,
                format!("camera sensor '{name}': image {tag} {v} is not a pixel count"),
            ));
        }
        Ok(v as u32)
    };
    let rate = number(file, sensor, &["update_rate"], 0.0)?;
    if rate < 0.0 {
        return Err(error(
            file,
            format!("camera sensor '{name}': update_rate {rate} is negative"),
        ));
    }
    // Where the camera sits on the car, in the frame of the way it drives (its own heading).
    let origin = placement.apply([0.0; 3]);
    let c = frame.apply([0.0; 3]);
    let f = frame.apply([1.0, 0.0, 0.0]);
    let dir = [f[0] - c[0], f[1] - c[1], f[2] - c[2]];
    let flat = dir[0].hypot(dir[1]);
    let (cos, sin) = (dir[0] / flat, dir[1] / flat);
    let (dx, dy) = (c[0] - origin[0], c[1] - origin[1]);
    let config = CameraConfig {
        width: size("width", 320.0)?,
        height: size("height", 240.0)?,
        hfov: number(file, camera, &["horizontal_fov"], 1.047)?,
        rate_hz: if rate > 0.0 {
            rate
        } else {
            UNTHROTTLED_RATE_HZ
        },
        mount: CameraMount {
            height: c[2] - origin[2],
            pitch: (-dir[2]).atan2(flat),
            forward: dx * cos + dy * sin,
            left: -dx * sin + dy * cos,
            roll: 0.0,
        },
        near_clip: number(file, camera, &["clip", "near"], 0.1)?,
        far_clip: number(file, camera, &["clip", "far"], 100.0)?,
    };
    config.validate().map_err(|e| {
        error(
            file,
            format!("camera sensor '{name}' cannot be simulated: {e}"),
        )
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(rel: &str) -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared")
            .join(rel);
        p.exists().then_some(p)
    }

    #[test]
    fn the_current_car_faces_its_include_and_carries_the_f1_camera() {
        let Some(world) = shared("gazebo-f1/worlds/simple_circuit.world") else {
            return;
        };
        let placement = Mat4::pose([53.462, -10.734, 0.004], [0.0, 0.0, -1.57]);
        let car = place(&world, "model://f1_renault", &placement).unwrap();
        assert!(car.file.unwrap().ends_with("f1_renault/model.sdf"));
        let (x, y, yaw) = car.start;
        assert!((x - 53.462).abs() < 1e-9 && (y + 10.734).abs() < 1e-9);
        assert!((yaw + 1.57).abs() < 1e-9, "{yaw}");
        assert_is_the_f1_camera(car.camera.unwrap());
    }

    fn assert_is_the_f1_camera(camera: CameraConfig) {
        let f1 = CameraConfig::behavior_metrics_f1();
        assert_eq!((camera.width, camera.height), (640, 480));
        for (got, want) in [
            (camera.hfov, f1.hfov),
            (camera.rate_hz, f1.rate_hz),
            (camera.near_clip, f1.near_clip),
            (camera.far_clip, f1.far_clip),
            (camera.mount.height, f1.mount.height),
            (camera.mount.forward, f1.mount.forward),
            (camera.mount.left, f1.mount.left),
            (camera.mount.pitch, f1.mount.pitch),
        ] {
            assert!((got - want).abs() < 1e-9, "{camera:?}");
        }
    }

    #[test]
    fn the_old_car_looks_along_its_minus_y_from_0_144_m() {
        let Some(world) = shared("gazebo-f1-legacy/worlds/f1_1_circuit.world") else {
            return;
        };
        let placement = Mat4::pose([1.0, 0.0, 0.0], [0.0; 3]);
        let car = place(&world, "model://f1", &placement).unwrap();
        let (_, _, yaw) = car.start;
        assert!((yaw + 1.57).abs() < 1e-9, "{yaw}");
        let m = car.camera.unwrap().mount;
        assert!((m.height - 0.14424).abs() < 1e-9, "{m:?}");
        // 0.09 m ahead of the origin, 0.05 m to its left (its link is at x 0.05, y −0.09).
        assert!((m.forward - 0.09).abs() < 1e-3, "{m:?}");
        assert!((m.left - 0.05).abs() < 1e-3, "{m:?}");
        assert!(m.pitch.abs() < 1e-9);
    }

    #[test]
    fn a_car_spawned_pitched_settles_level_on_its_wheels() {
        let Some(world) = shared("gazebo-f1/worlds/montmelo_line.world") else {
            return;
        };
        let placement = Mat4::pose([27.18, -31.55, 0.0], [0.0, 0.01, -3.12]);
        let camera = place(&world, "model://f1_renault", &placement)
            .unwrap()
            .camera
            .unwrap();
        assert_is_the_f1_camera(camera);
    }

    #[test]
    fn a_car_found_nowhere_keeps_the_include_heading() {
        let dir = tempfile::tempdir().unwrap();
        let world = dir.path().join("w.world");
        std::fs::write(&world, "<sdf/>").unwrap();
        let car = place(&world, "model://f1_nowhere", &Mat4::IDENTITY).unwrap();
        assert_eq!(car.start, (0.0, 0.0, 0.0));
        assert!(car.camera.is_none() && car.file.is_none());
    }

    #[test]
    fn a_broken_camera_is_an_error_naming_the_car_file() {
        let dir = tempfile::tempdir().unwrap();
        let car_dir = dir.path().join("f1_bad");
        std::fs::create_dir(&car_dir).unwrap();
        std::fs::write(
            car_dir.join("model.sdf"),
            r#"<sdf version="1.5"><model name="f1_bad"><link name="l">
               <sensor name="cam" type="camera"><camera><horizontal_fov>9</horizontal_fov>
               </camera></sensor></link></model></sdf>"#,
        )
        .unwrap();
        let world = dir.path().join("w.world");
        std::fs::write(&world, "<sdf/>").unwrap();
        let e = place(&world, "model://f1_bad", &Mat4::IDENTITY)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f1_bad/model.sdf") && e.contains("hfov 9"),
            "{e}"
        );
        // The other numbers: each refused naming the file and the number, none replaced.
        for (bad, says) in [
            (
                "<update_rate>-20</update_rate><camera/>",
                "update_rate -20 is negative",
            ),
            ("<update_rate>fast</update_rate><camera/>", "update_rate"),
            (
                "<camera><image><width>0</width></image></camera>",
                "image width 0",
            ),
        ] {
            std::fs::write(
                car_dir.join("model.sdf"),
                format!(
                    r#"<sdf version="1.5"><model name="f1_bad"><link name="l">
                       <sensor name="cam" type="camera">{bad}</sensor></link></model></sdf>"#
                ),
            )
            .unwrap();
            let e = place(&world, "model://f1_bad", &Mat4::IDENTITY)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("f1_bad/model.sdf") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }
}
