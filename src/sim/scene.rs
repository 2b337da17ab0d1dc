//! A 3D scene for the camera: textured, flat-shaded triangles in world coordinates (metres,
//! z up), their materials, and the light they are shaded with — what a Gazebo world file
//! describes, or what [`crate::sim::procedural`] builds around a centre line.
//!
//! Shading is Gazebo's: Gazebo's default sun lights a Lambert surface with diffuse 0.8 from
//! the direction (−0.5, 0.1, −0.9), and the world's ambient light (its `<scene><ambient>`, 0.4
//! by default) adds itself times the material's ambient reflectance (COLLADA's, 0.4 where it
//! states none); a `constant` surface shows its colour unlit. Gazebo's camera frames show
//! textures at their own colour under that light ([`Lighting::world`]). Circuits without a
//! world file keep the look this project calibrated first on Gazebo's GUI views: no ambient
//! light, textures at half ([`Lighting::FIRST`]).
//! A face's front is the side its corners wind counter-clockwise around; the renderer draws
//! fronts only, as Gazebo does (a SketchUp face is exported as two triangles, front and back,
//! each with its own material). Each world triangle's colour factor is computed once, when it
//! is added; the car's body ([`Scene::body`]) is lit again at each pose.

use std::sync::Arc;

/// A point or direction in 3D, metres.
pub type Vec3 = [f32; 3];

/// Where the sun's light travels, world frame (Gazebo's default sun).
pub const SUN_DIRECTION: Vec3 = [-0.5, 0.1, -0.9];
/// The sun's diffuse intensity (Gazebo's default sun).
pub const SUN_DIFFUSE: f32 = 0.8;
/// Gazebo's diffuse colour of a textured material: the texture is multiplied by it.
pub const TEXTURE_DIFFUSE: f32 = 0.5;

/// How a material reacts to light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shading {
    /// Diffuse: lit by the sun by the cosine of its angle to the face's normal.
    Lambert,
    /// Unlit: its colour as it is.
    Constant,
}

/// Gazebo's ambient reflectance of a COLLADA material that states none.
pub const DEFAULT_MATERIAL_AMBIENT: [f32; 3] = [0.4; 3];

/// A surface's material: a colour, or a texture scaled by the scene's texture diffuse.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// Name, for messages (`Asphalt_New`, `Color_A01`).
    pub name: String,
    /// Diffuse colour, linear 0–1 RGB (multiplies the texture when there is one).
    pub color: [f32; 3],
    /// Ambient reflectance, 0–1 RGB: how much of the world's ambient light it returns.
    pub ambient: [f32; 3],
    /// The texture, by index into [`Scene::textures`].
    pub texture: Option<usize>,
    /// Shading model.
    pub shading: Shading,
    /// Drawn over coplanar surfaces of other materials: the line a pilot follows, which
    /// Gazebo shows over the bands it was painted on.
    pub on_top: bool,
}

/// A texture and its mipmaps: RGB, power-of-two sides, repeating.
#[derive(Debug, Clone, PartialEq)]
pub struct Texture {
    /// Where it came from, for messages.
    pub name: String,
    /// Level 0 is full size; each next level halves both sides, down to 1×1.
    pub levels: Vec<TextureLevel>,
}

/// One mipmap level.
#[derive(Debug, Clone, PartialEq)]
pub struct TextureLevel {
    /// log2 of the side, pixels.
    pub log2_size: u32,
    /// Texels, row-major, `[r, g, b, 0]` each.
    pub texels: Vec<[u8; 4]>,
}

impl Texture {
    /// A texture from RGB pixels of any size: resampled (bilinear) to the nearest power of two
    /// at or above the larger side, capped at 1024, then mipmapped by 2×2 averages.
    pub fn from_rgb(name: &str, width: u32, height: u32, rgb: &[u8]) -> Texture {
        let side = width.max(height).max(1).next_power_of_two().min(1024);
        let log2 = side.trailing_zeros();
        let mut texels = Vec::with_capacity((side * side) as usize);
        for y in 0..side {
            for x in 0..side {
                let fx = ((x as f32 + 0.5) * width as f32 / side as f32 - 0.5).max(0.0);
                let fy = ((y as f32 + 0.5) * height as f32 / side as f32 - 0.5).max(0.0);
                let (x0, y0) = (fx as u32, fy as u32);
                let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
                let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
                let at = |x: u32, y: u32, c: usize| rgb[((y * width + x) * 3) as usize + c] as f32;
                let mut t = [0u8; 4];
                for (c, out) in t.iter_mut().take(3).enumerate() {
                    let top = at(x0, y0, c) * (1.0 - tx) + at(x1, y0, c) * tx;
                    let bottom = at(x0, y1, c) * (1.0 - tx) + at(x1, y1, c) * tx;
                    *out = (top * (1.0 - ty) + bottom * ty).round() as u8;
                }
                texels.push(t);
            }
        }
        let mut levels = vec![TextureLevel {
            log2_size: log2,
            texels,
        }];
        while let Some(last) = levels.last().filter(|l| l.log2_size > 0) {
            let side = 1usize << last.log2_size;
            let half = side / 2;
            let mut next = Vec::with_capacity(half * half);
            for y in 0..half {
                for x in 0..half {
                    let mut t = [0u8; 4];
                    for (c, out) in t.iter_mut().take(3).enumerate() {
                        let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                            .iter()
                            .map(|(dx, dy)| last.texels[(2 * y + dy) * side + 2 * x + dx][c] as u32)
                            .sum();
                        *out = ((sum + 2) / 4) as u8;
                    }
                    next.push(t);
                }
            }
            let log2_size = last.log2_size - 1;
            levels.push(TextureLevel {
                log2_size,
                texels: next,
            });
        }
        Texture {
            name: name.to_string(),
            levels,
        }
    }

    /// Mean colour, 0–255.
    pub fn mean(&self) -> [f32; 3] {
        let t = self
            .levels
            .last()
            .expect("a texture has at least one level")
            .texels[0];
        [t[0] as f32, t[1] as f32, t[2] as f32]
    }
}

/// A triangle of the scene with what the renderer needs per vertex and per face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Triangle {
    /// Corners, world frame, metres.
    pub p: [Vec3; 3],
    /// Texture coordinates of the corners (texture repeats every 1.0).
    pub uv: [[f32; 2]; 3],
    /// The material, by index into [`Scene::materials`].
    pub material: u32,
    /// The face's colour factor, 0–1 per channel (over 1 saturates): the world's ambient
    /// light × the material's ambient reflectance + the sun × the material's colour (× the
    /// scene's texture diffuse when textured, the texture multiplying it all).
    pub shade: [f32; 3],
}

/// What the camera sees where no surface is.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub enum Sky {
    /// Gazebo's sky as its camera sensor draws it over Behavior Metrics' worlds (a world with
    /// `<sky>`): a smooth gradient from a pale horizon to a deeper blue, the same all round,
    /// no clouds — the worlds ask for clouds, the camera does not draw them.
    #[default]
    Gradient,
    /// A flat colour: a world without `<sky>` shows Gazebo's background (default grey 0.7).
    Background([u8; 3]),
}

/// Gazebo's background where a world has no sky and sets none: grey 0.7.
pub const DEFAULT_BACKGROUND: [u8; 3] = [178, 178, 178];

/// Gazebo's ambient light where a world's `<scene>` sets none.
pub const DEFAULT_AMBIENT: [f32; 3] = [0.4; 3];

/// The light a scene is shaded with besides the sun.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Lighting {
    /// The world's ambient light, 0–1 RGB; a lit surface returns it times its material's
    /// ambient reflectance.
    pub ambient: [f32; 3],
    /// What a textured material's texture is multiplied by before the sun lights it.
    pub texture_diffuse: f32,
}

impl Lighting {
    /// The look this project calibrated first, on Gazebo's GUI views, and trained the shipped
    /// networks in: no ambient light, textures at half their colour. Circuits without a
    /// world file (built-in, CSV, a bare `model.sdf`) are drawn so.
    pub const FIRST: Lighting = Lighting {
        ambient: [0.0; 3],
        texture_diffuse: TEXTURE_DIFFUSE,
    };

    /// Gazebo's light in a world whose `<scene>` sets `ambient` (or leaves it at
    /// [`DEFAULT_AMBIENT`]): textures at their own colour, as its camera frames show them.
    pub fn world(ambient: [f32; 3]) -> Lighting {
        Lighting {
            ambient,
            texture_diffuse: 1.0,
        }
    }
}

impl Default for Lighting {
    fn default() -> Self {
        Lighting::FIRST
    }
}

impl Triangle {
    /// The face's normal, unnormalised: the side its corners wind counter-clockwise around.
    pub fn normal(&self) -> Vec3 {
        cross(sub(self.p[1], self.p[0]), sub(self.p[2], self.p[0]))
    }
}

/// Triangles, materials and textures, and the sky behind them.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// The triangles: the world's, then the car's body ([`Scene::body`]).
    pub triangles: Vec<Triangle>,
    /// The triangles the car carries (its body, where a world's car has a mesh): the last
    /// ones, their corners in the car's frame (x ahead, y left, z up from its origin), placed
    /// and lit by the renderer at each pose. Empty for a scene without a car.
    pub body: std::ops::Range<usize>,
    /// The materials they use.
    pub materials: Vec<Material>,
    /// The textures the materials use.
    pub textures: Vec<Arc<Texture>>,
    /// What shows where nothing is drawn.
    pub sky: Sky,
    /// The light besides the sun; set before triangles are added (they are shaded as added).
    pub lighting: Lighting,
}

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

impl Scene {
    /// An empty scene.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a material; returns its index.
    pub fn add_material(&mut self, material: Material) -> u32 {
        self.materials.push(material);
        (self.materials.len() - 1) as u32
    }

    /// Adds a texture; returns its index.
    pub fn add_texture(&mut self, texture: Arc<Texture>) -> usize {
        self.textures.push(texture);
        self.textures.len() - 1
    }

    /// Adds a triangle of `material` (corners counter-clockwise seen from the side the face
    /// points to), shading it. Degenerate triangles (no area) are skipped.
    pub fn add_triangle(&mut self, p: [Vec3; 3], uv: [[f32; 2]; 3], material: u32) {
        let n = cross(sub(p[1], p[0]), sub(p[2], p[0]));
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len.is_nan() || len <= 1e-12 {
            return;
        }
        let shade = self.shade(n, material);
        self.triangles.push(Triangle {
            p,
            uv,
            material,
            shade,
        });
    }

    /// The colour factor of a face of `material` whose normal (any length above 0) is `n`.
    pub fn shade(&self, n: Vec3, material: u32) -> [f32; 3] {
        let m = &self.materials[material as usize];
        match m.shading {
            Shading::Constant => m.color,
            Shading::Lambert => {
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                let [lx, ly, lz] = SUN_DIRECTION;
                let l = (lx * lx + ly * ly + lz * lz).sqrt();
                let cos = -(n[0] * lx + n[1] * ly + n[2] * lz) / (len * l);
                let sun = SUN_DIFFUSE * cos.max(0.0);
                let diffuse = if m.texture.is_some() {
                    self.lighting.texture_diffuse
                } else {
                    1.0
                };
                [0, 1, 2]
                    .map(|k| self.lighting.ambient[k] * m.ambient[k] + sun * diffuse * m.color[k])
            }
        }
    }

    /// The triangles that are the car's body from here on: everything added since
    /// `first` (see [`Scene::body`]).
    pub fn mark_body(&mut self, first: usize) {
        self.body = first.min(self.triangles.len())..self.triangles.len();
    }

    /// The world's triangles, the car's body left out.
    pub fn world_triangles(&self) -> &[Triangle] {
        if self.body.is_empty() {
            &self.triangles
        } else {
            &self.triangles[..self.body.start]
        }
    }

    /// The axis-aligned bounds of the world's triangles in the ground plane: (min x, min y, max x,
    /// max y), or `None` for an empty scene.
    pub fn bounds(&self) -> Option<[f32; 4]> {
        let mut b = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for t in self.world_triangles() {
            for p in &t.p {
                b = [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ];
            }
        }
        b[0].is_finite().then_some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material(scene: &mut Scene, color: [f32; 3], shading: Shading) -> u32 {
        scene.add_material(Material {
            name: "m".into(),
            color,
            ambient: DEFAULT_MATERIAL_AMBIENT,
            texture: None,
            shading,
            on_top: false,
        })
    }

    #[test]
    fn the_sun_lights_the_ground_as_in_gazebo() {
        let mut s = Scene::new();
        let red = material(&mut s, [1.0, 0.0, 0.0], Shading::Lambert);
        s.add_triangle(
            [[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0; 2]; 3],
            red,
        );
        // Gazebo draws Behavior Metrics' red line (1, 0, 0) as 177 of 255.
        let r = s.triangles[0].shade[0] * 255.0;
        assert!((r - 177.0).abs() < 1.0, "{r}");
        // The same face upside down faces away from the sun: black.
        s.add_triangle(
            [[0.0; 3], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
            [[0.0; 2]; 3],
            red,
        );
        assert_eq!(s.triangles[1].shade, [0.0; 3]);
        let flat = material(&mut s, [0.2, 0.4, 0.6], Shading::Constant);
        s.add_triangle(
            [[0.0; 3], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
            [[0.0; 2]; 3],
            flat,
        );
        assert_eq!(s.triangles[2].shade, [0.2, 0.4, 0.6]);
        // No area, no triangle.
        s.add_triangle([[0.0; 3]; 3], [[0.0; 2]; 3], flat);
        assert_eq!(s.triangles.len(), 3);
        assert_eq!(s.bounds(), Some([0.0, 0.0, 1.0, 1.0]));
    }

    #[test]
    fn textures_become_square_powers_of_two_with_mipmaps() {
        let rgb: Vec<u8> = (0..3 * 5 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let t = Texture::from_rgb("t", 5, 3, &rgb);
        assert_eq!(t.levels[0].log2_size, 3);
        assert_eq!(t.levels.len(), 4);
        assert_eq!(t.levels[3].texels.len(), 1);
        let uniform = Texture::from_rgb("u", 4, 4, &[90; 48]);
        assert_eq!(uniform.mean(), [90.0; 3]);
    }
}
