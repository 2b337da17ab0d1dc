//! Looks of Behavior Metrics' world beyond the calibrated one: the range Gazebo's real camera
//! frames span (`../shared/gazebo-frames`, measured in its README), drawn at random for
//! training data, and the restyling of a [`Scene`] into one of them.
//!
//! One circuit mesh looks different from world to world: the world's ambient light and how
//! textures are lit, the red line from dark red (76, 0, 0) to salmon (255, 102, 102), white,
//! grey, black or teal walls, asphalt from (45, 41, 42) to (73, 69, 70), a blue gradient or a
//! flat grey sky, a camera 0.10 or 0.144 m high. A [`SceneLook`] is one such look of the
//! scene; a [`FrameLook`] is what the camera and its transport do to the picture (exposure,
//! white balance, noise, JPEG as `image_transport`'s `compressed` sends it). [`LookRange`]
//! holds the ranges and draws both from a seeded generator.

use rand::Rng;
use serde::Serialize;

use crate::base::camera::CameraConfig;
use crate::base::sensor::Frame;
use crate::sim::render::Appearance;
use crate::sim::scene::{
    Lighting, Material, Scene, Shading, Sky, Triangle, DEFAULT_MATERIAL_AMBIENT,
};

/// A look of the scene: the light, the line's and walls' colours, the ground's brightness,
/// the sky.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SceneLook {
    /// The light besides the sun: the world's ambient light, and what textures are
    /// multiplied by before the sun lights them (0.5 in the first look, 1 in Gazebo's camera
    /// frames); `None` keeps the scene's.
    pub lighting: Option<Lighting>,
    /// The line as the camera sees it (flat, unlit), RGB; `None` keeps the scene's.
    pub line: Option<[u8; 3]>,
    /// The walls' (vertical faces') diffuse colour, 0–1 RGB, lit like any face; `None` keeps
    /// the scene's.
    pub wall: Option<[f32; 3]>,
    /// Factor on the ground's (asphalt, grass) brightness.
    pub ground_gain: f32,
    /// The sky; `None` keeps the scene's.
    pub sky: Option<Sky>,
}

impl SceneLook {
    /// The scene drawn in this look: every world triangle re-lit; the line's faces (its
    /// materials drawn on top) in the line's colour; vertical faces in the walls' colour.
    /// The car's body keeps its materials and is lit by the new light.
    pub fn apply(&self, scene: &Scene) -> Scene {
        let mut out = scene.clone();
        if let Some(lighting) = self.lighting {
            out.lighting = lighting;
        }
        if let Some(sky) = self.sky {
            out.sky = sky;
        }
        let line = self.line.map(|rgb| {
            out.add_material(Material {
                name: "look_line".into(),
                color: rgb.map(|c| c as f32 / 255.0),
                ambient: [0.0; 3],
                texture: None,
                shading: Shading::Constant,
                on_top: true,
            })
        });
        let wall = self.wall.map(|color| {
            out.add_material(Material {
                name: "look_wall".into(),
                color,
                ambient: DEFAULT_MATERIAL_AMBIENT,
                texture: None,
                shading: Shading::Lambert,
                on_top: false,
            })
        });
        let world = if out.body.is_empty() {
            out.triangles.len()
        } else {
            out.body.start
        };
        for i in 0..world {
            let t: Triangle = out.triangles[i];
            let n = t.normal();
            let on_top = out.materials[t.material as usize].on_top;
            let vertical = n[2].abs() < 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            let (material, gain) = match (on_top, vertical) {
                (true, _) => (line.unwrap_or(t.material), 1.0),
                (false, true) => (wall.unwrap_or(t.material), 1.0),
                (false, false) => (t.material, self.ground_gain),
            };
            let shade = out.shade(n, material).map(|c| c * gain);
            out.triangles[i] = Triangle {
                material,
                shade,
                ..t
            };
        }
        out
    }
}

/// What the camera and the picture's transport do to a frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameLook {
    /// Exposure, white balance and sensor noise.
    pub appearance: Appearance,
    /// JPEG quality the frame went through (`image_transport`'s `compressed`); `None`: raw.
    pub jpeg_quality: Option<u8>,
}

impl FrameLook {
    /// Applies the look to a finished frame (`seq` seeds the noise).
    pub fn apply(&self, seq: u64, frame: &mut Frame) -> Result<(), String> {
        self.appearance.apply(seq, frame);
        match self.jpeg_quality {
            Some(q) => jpeg_round_trip(frame, q),
            None => Ok(()),
        }
    }
}

/// Encodes an `rgb8` frame as JPEG at `quality` and decodes it back in place: the picture a
/// subscriber to a `compressed` topic gets.
pub fn jpeg_round_trip(frame: &mut Frame, quality: u8) -> Result<(), String> {
    let (w, h, step) = (
        frame.width as usize,
        frame.height as usize,
        frame.step as usize,
    );
    let mut packed = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        packed.extend_from_slice(&frame.data[y * step..y * step + w * 3]);
    }
    let mut encoded = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, quality.clamp(1, 100))
        .encode(&packed, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("JPEG encoding: {e}"))?;
    let decoded = image::load_from_memory_with_format(&encoded, image::ImageFormat::Jpeg)
        .map_err(|e| format!("JPEG decoding: {e}"))?
        .into_rgb8();
    for (y, row) in decoded.as_raw().chunks_exact(w * 3).enumerate() {
        frame.data[y * step..y * step + w * 3].copy_from_slice(row);
    }
    Ok(())
}

/// A named wall colour (diffuse, 0–1 RGB).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WallColour {
    /// Name, in records.
    pub name: &'static str,
    /// Diffuse colour.
    pub color: [f32; 3],
}

/// The look of one stretch of recording: the scene's, the camera's and the frame's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrawnLook {
    /// The scene's look.
    pub scene: SceneLook,
    /// The walls' colour by name.
    pub wall_name: &'static str,
    /// Position of the line's colour along [`LookRange::line_colours`], 0–1.
    pub line_position: f32,
    /// Camera height above the ground, metres.
    pub camera_height: f64,
    /// Camera pitch, radians (positive down).
    pub camera_pitch: f64,
    /// Camera roll, radians.
    pub camera_roll: f64,
    /// The frame's look.
    pub frame: FrameLook,
}

impl DrawnLook {
    /// `camera` moved to this look's height, pitch and roll.
    pub fn camera(&self, camera: CameraConfig) -> CameraConfig {
        let mut c = camera;
        c.mount.height = self.camera_height;
        c.mount.pitch = self.camera_pitch;
        c.mount.roll = self.camera_roll;
        c
    }
}

/// The ranges looks are drawn from. [`LookRange::gazebo`] spans Gazebo's real frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookRange {
    /// World ambient light (grey), drawn uniformly.
    pub ambient: (f32, f32),
    /// Texture diffuse, drawn uniformly.
    pub texture_diffuse: (f32, f32),
    /// The line's colours as the camera sees them, in order; a look's line is drawn
    /// uniformly along the path through them.
    pub line_colours: Vec<[u8; 3]>,
    /// Wall colours, one drawn with equal odds.
    pub walls: Vec<WallColour>,
    /// A combination never drawn: with this wall, the line stays below this position on the
    /// path (so the salmon end of the line never appears beside it).
    pub held_out: Option<(&'static str, f32)>,
    /// Ground brightness factor, drawn uniformly.
    pub ground_gain: (f32, f32),
    /// Odds of a flat grey sky (Gazebo's background) instead of the gradient.
    pub flat_sky: f64,
    /// Grey level of a flat sky, drawn uniformly.
    pub flat_sky_grey: (u8, u8),
    /// Camera height, metres.
    pub camera_height: (f64, f64),
    /// Camera pitch, radians.
    pub camera_pitch: (f64, f64),
    /// Camera roll, radians.
    pub camera_roll: (f64, f64),
    /// Exposure (brightness), drawn uniformly.
    pub brightness: (f32, f32),
    /// Largest per-channel gain deviation from 1 (white balance).
    pub tint: f32,
    /// Sensor noise amplitude, 0–255 units.
    pub noise: (f32, f32),
    /// Odds that a frame went through JPEG.
    pub jpeg: f64,
    /// JPEG quality, drawn uniformly.
    pub jpeg_quality: (u8, u8),
}

/// Teal, the pre-2021 worlds' walls as the old dataset's frame shows them (1, 18, 22).
pub const TEAL: WallColour = WallColour {
    name: "teal",
    color: [0.0, 0.09, 0.11],
};

/// The salmon end of the line's colours (`../shared/gazebo-frames` row 0, RL-Studio).
pub const SALMON_LINE: [u8; 3] = [255, 102, 102];

impl LookRange {
    /// The range of Gazebo's real frames: ambient 0–1 and textures lit at 0.5–1 (the first
    /// look, the sun alone, the worlds' own light and between); the line along dark red
    /// (76, 0, 0), Gazebo's sun-lit (177, 0, 0), (218, 41, 41) and salmon (255, 102, 102);
    /// white, grey, dark grey, black or teal walls, teal never beside the salmon quarter of the
    /// line (the held-out combination); asphalt ×0.8–1.3; a flat grey sky one time in four;
    /// the camera 0.10–0.144 m high, pitched −0.01 to 0.02 rad, rolled ±0.015 rad; exposure
    /// 0.8–1.2 with 5 % white balance and noise up to 6; half the frames through JPEG at
    /// quality 60–95.
    pub fn gazebo() -> LookRange {
        LookRange {
            ambient: (0.0, 1.0),
            texture_diffuse: (0.5, 1.0),
            line_colours: vec![[76, 0, 0], [177, 0, 0], [218, 41, 41], SALMON_LINE],
            walls: vec![
                WallColour {
                    name: "white",
                    color: [1.0; 3],
                },
                WallColour {
                    name: "grey",
                    color: [0.6; 3],
                },
                WallColour {
                    name: "dark grey",
                    color: [0.3; 3],
                },
                WallColour {
                    name: "black",
                    color: [0.02; 3],
                },
                TEAL,
            ],
            held_out: Some((TEAL.name, 0.75)),
            ground_gain: (0.8, 1.3),
            flat_sky: 0.25,
            flat_sky_grey: (150, 200),
            camera_height: (0.10, 0.144),
            camera_pitch: (-0.01, 0.02),
            camera_roll: (-0.015, 0.015),
            brightness: (0.8, 1.2),
            tint: 0.05,
            noise: (0.0, 6.0),
            jpeg: 0.5,
            jpeg_quality: (60, 95),
        }
    }

    /// The line's colour at `t` (0–1) along [`LookRange::line_colours`].
    pub fn line_colour(&self, t: f32) -> [u8; 3] {
        let c = &self.line_colours;
        if c.len() < 2 {
            return c.first().copied().unwrap_or([255, 0, 0]);
        }
        let x = t.clamp(0.0, 1.0) * (c.len() - 1) as f32;
        let k = (x as usize).min(c.len() - 2);
        let f = x - k as f32;
        [0, 1, 2].map(|i| (c[k][i] as f32 * (1.0 - f) + c[k + 1][i] as f32 * f).round() as u8)
    }

    /// Draws one look.
    pub fn draw<R: Rng>(&self, rng: &mut R) -> DrawnLook {
        fn uniform<R: Rng>(rng: &mut R, (a, b): (f64, f64)) -> f64 {
            if b > a {
                rng.random_range(a..=b)
            } else {
                a
            }
        }
        let between = |rng: &mut R, (a, b): (f32, f32)| uniform(rng, (a as f64, b as f64)) as f32;
        let ambient = between(rng, self.ambient);
        let texture_diffuse = between(rng, self.texture_diffuse);
        let wall = match self.walls.len() {
            0 => None,
            n => Some(self.walls[rng.random_range(0..n)]),
        };
        let line_max = match (self.held_out, wall) {
            (Some((name, below)), Some(w)) if w.name == name => below,
            _ => 1.0,
        };
        let line_position = between(rng, (0.0, line_max));
        let ground_gain = between(rng, self.ground_gain);
        let sky = if rng.random::<f64>() < self.flat_sky {
            let (a, b) = self.flat_sky_grey;
            let g = rng.random_range(a.min(b)..=a.max(b));
            Sky::Background([g; 3])
        } else {
            Sky::Gradient
        };
        let camera_height = uniform(rng, self.camera_height);
        let camera_pitch = uniform(rng, self.camera_pitch);
        let camera_roll = uniform(rng, self.camera_roll);
        let brightness = between(rng, self.brightness);
        let mut tint = [1.0f32; 3];
        if self.tint > 0.0 {
            for g in &mut tint {
                *g = 1.0 + rng.random_range(-self.tint..=self.tint);
            }
        }
        let noise = between(rng, self.noise);
        let jpeg_quality = (rng.random::<f64>() < self.jpeg).then(|| {
            let (a, b) = self.jpeg_quality;
            rng.random_range(a.min(b)..=a.max(b))
        });
        DrawnLook {
            scene: SceneLook {
                lighting: Some(Lighting {
                    ambient: [ambient; 3],
                    texture_diffuse,
                }),
                line: Some(self.line_colour(line_position)),
                wall: wall.map(|w| w.color),
                ground_gain,
                sky: Some(sky),
            },
            wall_name: wall.map_or("scene's", |w| w.name),
            line_position,
            camera_height,
            camera_pitch,
            camera_roll,
            frame: FrameLook {
                appearance: Appearance {
                    brightness,
                    tint,
                    noise,
                    texture: 0.0,
                    seed: rng.random(),
                },
                jpeg_quality,
            },
        }
    }
}

/// `R,G,B` (three integers 0–255), as the command line takes a colour.
pub fn parse_rgb(text: &str) -> Result<[u8; 3], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [r, g, b] = parts.as_slice() else {
        return Err(format!("'{text}': expected R,G,B (three integers 0-255)"));
    };
    let channel = |c: &str| {
        c.parse::<u8>()
            .map_err(|e| format!("'{text}': '{c}' is not an integer 0-255 ({e})"))
    };
    Ok([channel(r)?, channel(g)?, channel(b)?])
}

/// `LO,HI`, a range of a light level within 0–1 (`dataset --looks-ambient 0,0.1`).
pub fn parse_unit_range(text: &str) -> Result<(f32, f32), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [lo, hi] = parts.as_slice() else {
        return Err(format!("'{text}': expected LO,HI (two numbers 0-1)"));
    };
    let level = |c: &str| match c.parse::<f32>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(x) => Err(format!("'{text}': {x} is outside 0-1")),
        Err(e) => Err(format!("'{text}': '{c}' is not a number ({e})")),
    };
    let (lo, hi) = (level(lo)?, level(hi)?);
    if lo > hi {
        return Err(format!("'{text}': LO is above HI"));
    }
    Ok((lo, hi))
}

/// A wall colour by name (one of [`LookRange::gazebo`]'s walls) or as `R,G,B`, diffuse.
pub fn parse_wall(text: &str) -> Result<[f32; 3], String> {
    let walls = LookRange::gazebo().walls;
    if let Some(w) = walls.iter().find(|w| w.name == text) {
        return Ok(w.color);
    }
    parse_rgb(text)
        .map(|rgb| rgb.map(|c| c as f32 / 255.0))
        .map_err(|e| {
            let names: Vec<&str> = walls.iter().map(|w| w.name).collect();
            format!("{e}, or one of {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn scene() -> Scene {
        let mut s = Scene::new();
        let grey = s.add_material(Material {
            name: "asphalt".into(),
            color: [0.3; 3],
            ambient: DEFAULT_MATERIAL_AMBIENT,
            texture: None,
            shading: Shading::Lambert,
            on_top: false,
        });
        let red = s.add_material(Material {
            name: "line".into(),
            color: [1.0, 0.0, 0.0],
            ambient: DEFAULT_MATERIAL_AMBIENT,
            texture: None,
            shading: Shading::Lambert,
            on_top: true,
        });
        // Ground, line, and a wall facing +x, the side the sun shines from.
        s.add_triangle(
            [[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0; 2]; 3],
            grey,
        );
        s.add_triangle(
            [[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0; 2]; 3],
            red,
        );
        s.add_triangle(
            [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[0.0; 2]; 3],
            grey,
        );
        s
    }

    #[test]
    fn a_look_recolours_line_and_walls_and_scales_the_ground() {
        let base = scene();
        let look = SceneLook {
            lighting: Some(Lighting::world([0.0; 3])),
            line: Some([76, 0, 0]),
            wall: Some(TEAL.color),
            ground_gain: 1.2,
            sky: Some(Sky::Background([170; 3])),
        };
        let s = look.apply(&base);
        assert_eq!(s.triangles.len(), 3);
        // The line is the drawn colour, unlit.
        let line = s.triangles[1].shade.map(|c| (c * 255.0).round());
        assert_eq!(line, [76.0, 0.0, 0.0]);
        assert!(s.materials[s.triangles[1].material as usize].on_top);
        // The ground keeps its material, 1.2 times as bright.
        assert_eq!(s.triangles[0].material, base.triangles[0].material);
        for k in 0..3 {
            let want = base.triangles[0].shade[k] * 1.2;
            assert!((s.triangles[0].shade[k] - want).abs() < 1e-6);
        }
        // The wall is teal, lit by the sun.
        let wall = &s.materials[s.triangles[2].material as usize];
        assert_eq!(wall.color, TEAL.color);
        assert!(s.triangles[2].shade[2] > s.triangles[2].shade[0]);
        assert_eq!(s.sky, Sky::Background([170; 3]));
        // The scene it came from is untouched.
        assert_eq!(base.materials.len(), 2);
    }

    #[test]
    fn draws_are_seeded_within_range_and_never_the_held_out_pair() {
        let range = LookRange::gazebo();
        let draw_all = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..400).map(|_| range.draw(&mut rng)).collect::<Vec<_>>()
        };
        let looks = draw_all(7);
        assert_eq!(looks, draw_all(7));
        assert_ne!(looks, draw_all(8));
        let mut salmon_beside_other_walls = 0;
        for l in &looks {
            assert!((0.10..=0.144).contains(&l.camera_height));
            assert!(l.camera_roll.abs() <= 0.015);
            let ambient = l.scene.lighting.unwrap().ambient;
            assert!((0.0..=1.0).contains(&ambient[0]));
            let line = l.scene.line.unwrap();
            if l.wall_name == TEAL.name {
                assert!(l.line_position < 0.75, "{l:?}");
                assert_ne!(line, SALMON_LINE);
            } else if l.line_position > 0.9 {
                salmon_beside_other_walls += 1;
            }
        }
        assert!(salmon_beside_other_walls > 0);
        // Every wall and both skies turn up.
        for w in &range.walls {
            assert!(looks.iter().any(|l| l.wall_name == w.name), "{}", w.name);
        }
        assert!(looks
            .iter()
            .any(|l| matches!(l.scene.sky, Some(Sky::Background(_)))));
        assert!(looks.iter().any(|l| l.frame.jpeg_quality.is_some()));
        assert!(looks.iter().any(|l| l.frame.jpeg_quality.is_none()));
    }

    #[test]
    fn colours_parse_or_say_what_is_wrong() {
        assert_eq!(parse_rgb("255, 102,102"), Ok(SALMON_LINE));
        assert!(parse_rgb("255,102").unwrap_err().contains("R,G,B"));
        assert!(parse_rgb("255,102,300").unwrap_err().contains("'300'"));
        assert_eq!(parse_wall("teal"), Ok(TEAL.color));
        assert_eq!(parse_wall("255,0,0"), Ok([1.0, 0.0, 0.0]));
        assert!(parse_wall("mauve").unwrap_err().contains("teal"));
    }

    #[test]
    fn the_line_colour_runs_along_the_measured_colours() {
        let range = LookRange::gazebo();
        assert_eq!(range.line_colour(0.0), [76, 0, 0]);
        assert_eq!(range.line_colour(1.0), SALMON_LINE);
        assert_eq!(range.line_colour(1.0 / 3.0), [177, 0, 0]);
    }

    #[test]
    fn jpeg_round_trip_keeps_the_picture_close() {
        let mut frame = Frame::new_rgb8(64, 48);
        for (i, px) in frame.data.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&[(i % 64 * 4) as u8, 90, 40]);
        }
        let before = frame.data.clone();
        jpeg_round_trip(&mut frame, 80).unwrap();
        let diff: f64 = before
            .iter()
            .zip(&frame.data)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / before.len() as f64;
        assert!(diff > 0.0 && diff < 4.0, "{diff}");
    }

    #[test]
    fn a_light_range_is_two_levels_in_order_within_0_1() {
        assert_eq!(parse_unit_range("0, 0.1"), Ok((0.0, 0.1)));
        assert_eq!(parse_unit_range("1,1"), Ok((1.0, 1.0)));
        for (bad, why) in [
            ("0.5", "expected LO,HI"),
            ("0,1.5", "outside 0-1"),
            ("0.6,0.2", "LO is above HI"),
            ("a,1", "not a number"),
            ("NaN,1", "outside 0-1"),
        ] {
            let e = parse_unit_range(bad).unwrap_err();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
