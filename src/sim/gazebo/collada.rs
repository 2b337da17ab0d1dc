//! COLLADA meshes (`.dae`) into the scene, as Gazebo loads them: parsed by the `dae-parser`
//! crate, then walked from the visual scene down — node transforms composed in order, the
//! document's unit (SketchUp's inches) and up axis honoured, each primitive's material bound
//! through the instance's `bind_material`, effects read as a diffuse colour or texture. A
//! texture whose file is missing is a warning and the material is drawn without it, as
//! Gazebo draws it; one that is there but cannot be read is an error naming it.
//!
//! Triangles, polygon lists and polygons are drawn; lines (SketchUp's edges) are not, as in
//! Gazebo. A primitive with no bound material is white Lambert, Gazebo's default.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dae_parser::{
    ColorParam, Document, Effect, Geometry, GeometryElement, Image, ImageSource,
    Material as DaeMaterial, Node, Primitive, Profile, Semantic, Shader, Source, SurfaceInit,
    Transform, UpAxis, Url, Vertices,
};

use super::{Mat4, WorldError};
use crate::sim::scene::{Material, Scene, Shading, Texture, DEFAULT_MATERIAL_AMBIENT};

/// Textures and materials already loaded, shared by every mesh of a world.
#[derive(Default)]
pub struct Cache {
    textures: HashMap<PathBuf, usize>,
    materials: HashMap<(PathBuf, String), u32>,
}

fn error(path: &Path, what: impl Into<String>) -> WorldError {
    WorldError::Collada {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// `text` with a `texcoord` attribute on every `<texture>` element that lacks one. Blender's
/// exporter of the pre-2021 worlds (`pista_simple`) leaves it out; the schema requires it and
/// `dae-parser` refuses the file, while Gazebo reads the texture with the primitive's first
/// texture coordinates, as this loader does whatever the attribute says.
fn with_texcoords(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("<texture ") {
        let Some(len) = rest[at..].find('>') else {
            break;
        };
        let tag = &rest[at..at + len];
        out.push_str(&rest[..at]);
        out.push_str(tag);
        if !tag.contains("texcoord") {
            let end = out.len() - usize::from(tag.ends_with('/'));
            out.insert_str(end, " texcoord=\"\"");
            changed = true;
        }
        rest = &rest[at + len..];
    }
    if !changed {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A parse error in words (`dae_parser::Error` has no `Display`).
fn describe(e: &dae_parser::Error) -> String {
    match e {
        dae_parser::Error::Minidom(m) => m.to_string(),
        dae_parser::Error::Other(s) => s.to_string(),
        dae_parser::Error::Str(s) => s.clone(),
    }
}

/// The id a `#id` URL names.
fn fragment(url: &Url) -> Option<&str> {
    match url {
        Url::Fragment(id) => Some(id),
        Url::Other(_) => None,
    }
}

/// Adds the visual scene of the COLLADA file at `path`, placed by `placement` (world from
/// the file's frame after its unit and up axis), to `scene`. Returns the triangles added.
pub fn load(
    path: &Path,
    placement: &Mat4,
    scene: &mut Scene,
    cache: &mut Cache,
) -> Result<usize, WorldError> {
    let text = std::fs::read_to_string(path).map_err(|e| error(path, e.to_string()))?;
    let doc = with_texcoords(&text)
        .parse::<Document>()
        .map_err(|e| error(path, format!("not valid COLLADA: {e:?}")))?;
    let unit = doc.asset.unit.meter;
    if !(unit.is_finite() && unit > 0.0) {
        return Err(error(path, format!("unit of {unit} m is not positive")));
    }
    let up = match doc.asset.up_axis {
        UpAxis::ZUp => Mat4::IDENTITY,
        // Y up: the file's y is the world's z, its z the world's −y.
        UpAxis::YUp => Mat4::rows([
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, -1.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]),
        UpAxis::XUp => return Err(error(path, "X_UP documents are not supported")),
    };
    let root = placement.mul(&up).mul(&Mat4::scale(unit as f64));
    let visual = doc.get_visual_scene().ok_or_else(|| {
        error(
            path,
            "no visual scene is instanced (<scene><instance_visual_scene>)",
        )
    })?;
    let maps = Maps {
        geometries: doc
            .local_map::<Geometry>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        nodes: doc
            .local_map::<Node>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        materials: doc
            .local_map::<DaeMaterial>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        effects: doc
            .local_map::<Effect>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        images: doc
            .local_map::<Image>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        sources: doc
            .local_map::<Source>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
        vertices: doc
            .local_map::<Vertices>()
            .map_err(|e| error(path, describe(&e)))?
            .0,
    };
    let mut walker = Walker {
        path,
        maps: &maps,
        scene,
        cache,
        added: 0,
    };
    for node in &visual.nodes {
        walker.node(node, &root, 0)?;
    }
    Ok(walker.added)
}

struct Maps<'a> {
    geometries: HashMap<&'a str, &'a Geometry>,
    nodes: HashMap<&'a str, &'a Node>,
    materials: HashMap<&'a str, &'a DaeMaterial>,
    effects: HashMap<&'a str, &'a Effect>,
    images: HashMap<&'a str, &'a Image>,
    sources: HashMap<&'a str, &'a Source>,
    vertices: HashMap<&'a str, &'a Vertices>,
}

struct Walker<'a, 'm> {
    path: &'a Path,
    maps: &'a Maps<'m>,
    scene: &'a mut Scene,
    cache: &'a mut Cache,
    added: usize,
}

/// Deepest node nesting followed (a loop of `instance_node`s would never end).
const MAX_DEPTH: usize = 64;

impl Walker<'_, '_> {
    fn node(&mut self, node: &Node, parent: &Mat4, depth: usize) -> Result<(), WorldError> {
        if depth > MAX_DEPTH {
            return Err(error(
                self.path,
                "nodes nest deeper than 64 (an instance_node loop?)",
            ));
        }
        let mut m = *parent;
        for t in &node.transforms {
            m = m.mul(&transform(t).map_err(|what| error(self.path, what))?);
        }
        for instance in &node.instance_geometry {
            let id = fragment(&instance.url.val).ok_or_else(|| {
                error(
                    self.path,
                    format!("geometry reference '{}' is not local", instance.url.val),
                )
            })?;
            let geometry =
                *self.maps.geometries.get(id).ok_or_else(|| {
                    error(self.path, format!("instance of unknown geometry '{id}'"))
                })?;
            let mut bound = HashMap::new();
            if let Some(bind) = &instance.data.bind_material {
                for im in &bind.instance_material {
                    bound.insert(im.symbol.as_str(), fragment(&im.target.val));
                }
            }
            self.geometry(geometry, &m, &bound)?;
        }
        for instance in &node.instance_node {
            let id = fragment(&instance.url.val).ok_or_else(|| {
                error(
                    self.path,
                    format!("node reference '{}' is not local", instance.url.val),
                )
            })?;
            let child = *self
                .maps
                .nodes
                .get(id)
                .ok_or_else(|| error(self.path, format!("instance of unknown node '{id}'")))?;
            self.node(child, &m, depth + 1)?;
        }
        for child in &node.children {
            self.node(child, &m, depth + 1)?;
        }
        Ok(())
    }

    fn geometry(
        &mut self,
        geometry: &Geometry,
        m: &Mat4,
        bound: &HashMap<&str, Option<&str>>,
    ) -> Result<(), WorldError> {
        let name = geometry.id.as_deref().unwrap_or("(unnamed)");
        let GeometryElement::Mesh(mesh) = &geometry.element else {
            return Ok(());
        };
        for prim in &mesh.elements {
            let (inputs, material, polygons): (_, _, Vec<&[u32]>) = match prim {
                Primitive::Triangles(t) => {
                    let data = t.data.prim.as_deref().unwrap_or(&[]);
                    let stride = t.inputs.stride.max(1);
                    (&t.inputs, &t.material, data.chunks(3 * stride).collect())
                }
                Primitive::PolyList(p) => {
                    let stride = p.inputs.stride.max(1);
                    let mut polys = Vec::with_capacity(p.data.vcount.len());
                    let mut at = 0;
                    for &n in p.data.vcount.iter() {
                        let end = at + n as usize * stride;
                        let Some(poly) = p.data.prim.get(at..end) else {
                            return Err(error(
                                self.path,
                                format!("geometry '{name}': polylist indices end early"),
                            ));
                        };
                        polys.push(poly);
                        at = end;
                    }
                    (&p.inputs, &p.material, polys)
                }
                Primitive::Polygons(p) => (
                    &p.inputs,
                    &p.material,
                    p.data.0.iter().map(|ph| &*ph.verts).collect(),
                ),
                // Edges are not drawn, as in Gazebo.
                Primitive::Lines(_) | Primitive::LineStrips(_) => continue,
                other => {
                    return Err(error(
                        self.path,
                        format!(
                            "geometry '{name}': primitive {} is not supported",
                            primitive_name(other)
                        ),
                    ))
                }
            };
            let stride = inputs.stride.max(1);
            let vertex = inputs
                .inputs
                .iter()
                .find(|i| i.input.semantic == Semantic::Vertex)
                .ok_or_else(|| {
                    error(
                        self.path,
                        format!("geometry '{name}': a primitive has no VERTEX input"),
                    )
                })?;
            let vid = fragment(&vertex.input.source).ok_or_else(|| {
                error(
                    self.path,
                    format!("geometry '{name}': VERTEX source is not local"),
                )
            })?;
            let vertices = *self.maps.vertices.get(vid).ok_or_else(|| {
                error(
                    self.path,
                    format!("geometry '{name}': unknown vertices '{vid}'"),
                )
            })?;
            let position = vertices
                .inputs
                .iter()
                .find(|i| i.semantic == Semantic::Position)
                .ok_or_else(|| {
                    error(
                        self.path,
                        format!("geometry '{name}': vertices '{vid}' have no POSITION"),
                    )
                })?;
            let positions = self.floats::<3>(&position.source, name)?;
            let texcoord = inputs
                .inputs
                .iter()
                .filter(|i| i.input.semantic == Semantic::TexCoord)
                .min_by_key(|i| i.set.unwrap_or(0));
            let uvs = match texcoord {
                Some(t) => Some((self.floats::<2>(&t.input.source, name)?, t.offset as usize)),
                None => None,
            };
            let material = self.material(
                material
                    .as_deref()
                    .and_then(|s| bound.get(s).copied().flatten()),
            )?;
            let offset = vertex.offset as usize;
            for poly in polygons {
                let corners = poly.len() / stride;
                if corners < 3 {
                    continue;
                }
                let corner = |k: usize| -> Result<([f32; 3], [f32; 2]), WorldError> {
                    let idx = &poly[k * stride..(k + 1) * stride];
                    let i = idx.get(offset).copied().unwrap_or(u32::MAX) as usize;
                    let p = positions.get(i).ok_or_else(|| {
                        error(
                            self.path,
                            format!("geometry '{name}': vertex index {i} is out of range"),
                        )
                    })?;
                    let w = m.apply([p[0] as f64, p[1] as f64, p[2] as f64]);
                    let uv = match &uvs {
                        Some((uv, off)) => {
                            let j = idx.get(*off).copied().unwrap_or(u32::MAX) as usize;
                            let t = uv.get(j).ok_or_else(|| {
                                error(
                                    self.path,
                                    format!(
                                        "geometry '{name}': texture coordinate {j} is out of range"
                                    ),
                                )
                            })?;
                            // COLLADA's v grows upwards, image rows downwards.
                            [t[0], 1.0 - t[1]]
                        }
                        None => [0.0, 0.0],
                    };
                    Ok(([w[0] as f32, w[1] as f32, w[2] as f32], uv))
                };
                let first = corner(0)?;
                let mut prev = corner(1)?;
                for k in 2..corners {
                    let next = corner(k)?;
                    self.scene.add_triangle(
                        [first.0, prev.0, next.0],
                        [first.1, prev.1, next.1],
                        material,
                    );
                    self.added += 1;
                    prev = next;
                }
            }
        }
        Ok(())
    }

    /// The values of a source, `N` per element (the accessor's first `N` params).
    fn floats<const N: usize>(
        &self,
        url: &Url,
        geometry: &str,
    ) -> Result<Vec<[f32; N]>, WorldError> {
        let id = fragment(url).ok_or_else(|| {
            error(
                self.path,
                format!("geometry '{geometry}': source '{url}' is not local"),
            )
        })?;
        let source = *self.maps.sources.get(id).ok_or_else(|| {
            error(
                self.path,
                format!("geometry '{geometry}': unknown source '{id}'"),
            )
        })?;
        let Some(dae_parser::ArrayElement::Float(array)) = &source.array else {
            return Err(error(
                self.path,
                format!("source '{id}' has no float_array"),
            ));
        };
        let a = &source.accessor;
        let stride = a.stride.max(N);
        let mut out = Vec::with_capacity(a.count);
        for i in 0..a.count {
            let at = a.offset + i * stride;
            let Some(v) = array.val.get(at..at + N) else {
                return Err(error(
                    self.path,
                    format!(
                        "source '{id}': accessor reads past the end of its {} values",
                        array.val.len()
                    ),
                ));
            };
            if v.iter().any(|x| !x.is_finite()) {
                return Err(error(
                    self.path,
                    format!("source '{id}': value {i} is not finite"),
                ));
            }
            let mut e = [0.0f32; N];
            e.copy_from_slice(v);
            out.push(e);
        }
        Ok(out)
    }

    /// The scene material for a COLLADA material id (white Lambert when there is none).
    fn material(&mut self, id: Option<&str>) -> Result<u32, WorldError> {
        let key = (self.path.to_path_buf(), id.unwrap_or("").to_string());
        if let Some(&m) = self.cache.materials.get(&key) {
            return Ok(m);
        }
        let material = match id {
            None => Material {
                name: "default".into(),
                color: [1.0; 3],
                ambient: DEFAULT_MATERIAL_AMBIENT,
                texture: None,
                shading: Shading::Lambert,
                on_top: false,
            },
            Some(id) => self.convert(id)?,
        };
        let m = self.scene.add_material(material);
        self.cache.materials.insert(key, m);
        Ok(m)
    }

    fn convert(&mut self, id: &str) -> Result<Material, WorldError> {
        let dae = *self
            .maps
            .materials
            .get(id)
            .ok_or_else(|| error(self.path, format!("unknown material '{id}'")))?;
        let name = dae.name.clone().unwrap_or_else(|| id.to_string());
        let eid = fragment(&dae.instance_effect.url.val).ok_or_else(|| {
            error(
                self.path,
                format!("material '{name}': effect reference is not local"),
            )
        })?;
        let effect = *self.maps.effects.get(eid).ok_or_else(|| {
            error(
                self.path,
                format!("material '{name}': unknown effect '{eid}'"),
            )
        })?;
        let Some(common) = effect.profile.iter().find_map(|p| match p {
            Profile::Common(c) => Some(c),
            _ => None,
        }) else {
            return Err(error(
                self.path,
                format!("material '{name}': effect '{eid}' has no profile_COMMON"),
            ));
        };
        let (colour, ambient, shading) = match common.technique.data.shaders.first() {
            Some(Shader::Lambert(s)) => {
                (s.diffuse.as_deref(), s.ambient.as_deref(), Shading::Lambert)
            }
            Some(Shader::Phong(s)) => {
                (s.diffuse.as_deref(), s.ambient.as_deref(), Shading::Lambert)
            }
            Some(Shader::Blinn(s)) => {
                (s.diffuse.as_deref(), s.ambient.as_deref(), Shading::Lambert)
            }
            Some(Shader::Constant(s)) => (
                s.emission.as_ref().or(s.transparent.as_ref()).map(|d| &**d),
                None,
                Shading::Constant,
            ),
            None => (None, None, Shading::Lambert),
        };
        // Gazebo's loader takes a stated ambient colour, else keeps its default.
        let ambient = match ambient {
            Some(ColorParam::Color(c)) => [c[0], c[1], c[2]],
            _ => DEFAULT_MATERIAL_AMBIENT,
        };
        let (color, texture) = match colour {
            None => ([1.0; 3], None),
            Some(ColorParam::Color(c)) => ([c[0], c[1], c[2]], None),
            Some(ColorParam::Param(p)) => {
                return Err(error(
                    self.path,
                    format!("material '{name}': colour parameter '{p}' is not supported"),
                ))
            }
            Some(ColorParam::Texture(t)) => {
                let file = self.texture_file(effect, common, &t.texture, &name)?;
                if file.exists() {
                    ([1.0; 3], Some(self.texture(&file, &name)?))
                } else {
                    // Gazebo warns and draws the material without its image: a white
                    // texture under its default diffuse.
                    tracing::warn!(
                        texture = %file.display(),
                        material = %name,
                        mesh = %self.path.display(),
                        "a texture the mesh names is missing; drawing the material without it, \
                         as Gazebo does"
                    );
                    ([self.scene.lighting.texture_diffuse; 3], None)
                }
            }
        };
        Ok(Material {
            name,
            color,
            ambient,
            texture,
            shading,
            on_top: false,
        })
    }

    /// The image file a `<texture texture="...">` samples: through its sampler and surface
    /// parameters to an image, or naming the image directly (some exporters do).
    fn texture_file(
        &self,
        effect: &Effect,
        common: &dae_parser::ProfileCommon,
        sampler: &str,
        material: &str,
    ) -> Result<PathBuf, WorldError> {
        let params = || common.new_param.iter().chain(effect.new_param.iter());
        let mut image_id = sampler.to_string();
        if let Some(s) = params()
            .find(|p| p.sid == sampler)
            .and_then(|p| p.ty.as_sampler2d())
        {
            let surface = &s.source.val;
            if let Some(surf) = params()
                .find(|p| &p.sid == surface)
                .and_then(|p| p.ty.as_surface())
            {
                if let SurfaceInit::From { image, .. } = &surf.init {
                    image_id = image.val.clone();
                }
            }
        }
        let image = self
            .maps
            .images
            .get(image_id.as_str())
            .copied()
            .or_else(|| {
                common
                    .image
                    .iter()
                    .chain(effect.image.iter())
                    .find(|i| i.id.as_deref() == Some(&image_id))
            })
            .ok_or_else(|| {
                error(
                    self.path,
                    format!("material '{material}': texture image '{image_id}' is not defined"),
                )
            })?;
        let ImageSource::InitFrom(url) = &image.source else {
            return Err(error(
                self.path,
                format!("material '{material}': image '{image_id}' has embedded data, not a file"),
            ));
        };
        let raw = match url {
            Url::Fragment(s) | Url::Other(s) => s.as_str(),
        };
        let relative = raw.strip_prefix("file://").unwrap_or(raw);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let direct = dir.join(relative);
        if direct.exists() {
            return Ok(direct);
        }
        // As Gazebo's resource search does: the file's name anywhere in the mesh's folder
        // tree (Behavior Metrics' Montreal names a texture in a folder that does not exist
        // and ships it in another).
        let name = Path::new(relative).file_name().unwrap_or_default();
        Ok(find_file(dir, name, 3).unwrap_or(direct))
    }

    fn texture(&mut self, file: &Path, material: &str) -> Result<usize, WorldError> {
        if let Some(&t) = self.cache.textures.get(file) {
            return Ok(t);
        }
        let img = image::open(file).map_err(|e| WorldError::Texture {
            path: file.to_path_buf(),
            mesh: self.path.to_path_buf(),
            what: format!("material '{material}': {e}"),
        })?;
        let rgb = img.to_rgb8();
        let texture = Texture::from_rgb(
            &file.display().to_string(),
            rgb.width(),
            rgb.height(),
            rgb.as_raw(),
        );
        let t = self.scene.add_texture(Arc::new(texture));
        self.cache.textures.insert(file.to_path_buf(), t);
        Ok(t)
    }
}

/// A file called `name` in `dir` or its sub-folders, `depth` levels down at most.
fn find_file(dir: &Path, name: &std::ffi::OsStr, depth: usize) -> Option<PathBuf> {
    let here = dir.join(name);
    if here.is_file() {
        return Some(here);
    }
    if depth == 0 {
        return None;
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    subdirs.iter().find_map(|d| find_file(d, name, depth - 1))
}

fn primitive_name(p: &Primitive) -> &'static str {
    match p {
        Primitive::Lines(_) => "lines",
        Primitive::LineStrips(_) => "linestrips",
        Primitive::Polygons(_) => "polygons",
        Primitive::PolyList(_) => "polylist",
        Primitive::Triangles(_) => "triangles",
        Primitive::TriFans(_) => "trifans",
        Primitive::TriStrips(_) => "tristrips",
    }
}

/// A node transform as a matrix (COLLADA matrices are written row by row).
fn transform(t: &Transform) -> Result<Mat4, String> {
    Ok(match t {
        Transform::Matrix(m) => {
            let v = &m.0;
            Mat4::rows([
                [v[0], v[1], v[2], v[3]].map(f64::from),
                [v[4], v[5], v[6], v[7]].map(f64::from),
                [v[8], v[9], v[10], v[11]].map(f64::from),
                [v[12], v[13], v[14], v[15]].map(f64::from),
            ])
        }
        Transform::Translate(t) => Mat4::translation([t.0[0] as f64, t.0[1] as f64, t.0[2] as f64]),
        Transform::Scale(s) => Mat4::rows([
            [s.0[0] as f64, 0.0, 0.0, 0.0],
            [0.0, s.0[1] as f64, 0.0, 0.0],
            [0.0, 0.0, s.0[2] as f64, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]),
        Transform::Rotate(r) => {
            let [x, y, z, deg] = *r.0;
            Mat4::axis_angle([x as f64, y as f64, z as f64], (deg as f64).to_radians())
        }
        Transform::LookAt(_) => return Err("lookat transforms are not supported".into()),
        Transform::Skew(_) => return Err("skew transforms are not supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textures_without_texcoord_get_one() {
        let text = r#"<diffuse><texture texture="a-sampler"/></diffuse><texture texture="b" texcoord="UV0"/>"#;
        assert_eq!(
            with_texcoords(text),
            r#"<diffuse><texture texture="a-sampler" texcoord=""/></diffuse><texture texture="b" texcoord="UV0"/>"#
        );
        let whole = "<texture texture=\"x\" texcoord=\"t\"></texture>";
        assert!(matches!(
            with_texcoords(whole),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
