//! SDF files (`model.sdf`, `*.world`) as far as a Behavior Metrics circuit needs them: the
//! models a world includes and where, each model's links and visuals with their poses, and the
//! meshes those visuals draw. Read with `roxmltree`.
//!
//! `model://NAME/...` is looked up as Gazebo does, in the folders of `GAZEBO_MODEL_PATH`, then
//! beside the file's own model folder. In a world, `model://sun` is the default light the
//! scene is shaded with anyway, and an included model whose name starts with `f1` is Behavior
//! Metrics' car: its pose is where the run starts, its own SDF gives the camera and the body
//! (`car`). Other visual geometry than meshes (boxes, planes, ...) is skipped with a warning;
//! everything else unexpected is an error naming the file.

use std::path::{Path, PathBuf};

use roxmltree::Node;

use super::{car, Mat4, WorldError};
use crate::base::camera::CameraConfig;
use crate::sim::scene::{Sky, DEFAULT_AMBIENT, DEFAULT_BACKGROUND};

/// A mesh a visual draws, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshVisual {
    /// The mesh file.
    pub file: PathBuf,
    /// World from the mesh's frame (poses and scale composed).
    pub placement: Mat4,
}

/// What an SDF file describes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Description {
    /// Every mesh to draw.
    pub meshes: Vec<MeshVisual>,
    /// Where Behavior Metrics' car starts: x, y, yaw (from a world's `f1` include).
    pub start: Option<(f64, f64, f64)>,
    /// The circuit's name: the folder of the first `model*.sdf` read (the name a world's
    /// `model://` include uses), else the first `<model name>`.
    pub name: Option<String>,
    /// What a world shows where nothing is drawn: its `<scene>`'s sky, else its background
    /// (Gazebo's grey by default); `None` for a model file, which sets neither.
    pub sky: Option<Sky>,
    /// A world's ambient light: its `<scene><ambient>`, else Gazebo's default; `None` for a
    /// model file.
    pub ambient: Option<[f32; 3]>,
    /// The camera of the car a world includes, read from the car's SDF when it is found.
    pub camera: Option<CameraConfig>,
    /// The meshes of that car's body, placed in the car's frame (x ahead, y left, z up).
    pub body: Vec<MeshVisual>,
}

pub(super) fn error(path: &Path, what: impl Into<String>) -> WorldError {
    WorldError::Sdf {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// Deepest include nesting followed.
const MAX_INCLUDES: usize = 16;

/// Reads the SDF file at `path`.
pub fn read(path: &Path) -> Result<Description, WorldError> {
    let mut out = Description::default();
    read_into(path, &Mat4::IDENTITY, &mut out, 0)?;
    Ok(out)
}

fn read_into(
    path: &Path,
    placement: &Mat4,
    out: &mut Description,
    depth: usize,
) -> Result<(), WorldError> {
    if depth > MAX_INCLUDES {
        return Err(error(
            path,
            "includes nest deeper than 16 (an include loop?)",
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(path, e.to_string()))?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| error(path, format!("not valid XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "sdf" {
        return Err(error(
            path,
            format!(
                "the root element is <{}>, not <sdf>",
                root.tag_name().name()
            ),
        ));
    }
    let mut found = false;
    for child in root.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "model" => {
                found = true;
                if out.name.is_none() {
                    out.name = model_folder_name(path);
                }
                model(path, child, placement, out, depth)?;
            }
            "world" => {
                found = true;
                if out.sky.is_none() {
                    out.sky = Some(sky(path, child)?);
                    out.ambient = Some(ambient(path, child)?);
                }
                for item in child.children().filter(Node::is_element) {
                    match item.tag_name().name() {
                        "model" => model(path, item, placement, out, depth)?,
                        "include" => include(path, item, placement, out, depth)?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !found {
        return Err(error(path, "holds neither a <model> nor a <world>"));
    }
    Ok(())
}

/// A colour element's `r g b [a]` (0 to 1 each).
fn colour(path: &Path, tag: &str, text: &str) -> Result<[f64; 3], WorldError> {
    let bad = || {
        error(
            path,
            format!("<{tag}> '{text}' is not a colour (r g b [a], 0 to 1)"),
        )
    };
    let v: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match v.as_slice() {
        [r, g, b, ..] if v.iter().all(|c| c.is_finite()) => {
            Ok([*r, *g, *b].map(|c| c.clamp(0.0, 1.0)))
        }
        _ => Err(bad()),
    }
}

/// A `<world>`'s ambient light: its `<scene><ambient>`, else Gazebo's default.
fn ambient(path: &Path, world: Node) -> Result<[f32; 3], WorldError> {
    let text = world
        .children()
        .find(|n| n.has_tag_name("scene"))
        .and_then(|scene| text_of(scene, "ambient"));
    Ok(match text {
        Some(t) => colour(path, "ambient", t)?.map(|c| c as f32),
        None => DEFAULT_AMBIENT,
    })
}

/// What a `<world>` shows where nothing is drawn: Gazebo's sky when its `<scene>` has one,
/// else the scene's `<background>` colour, else Gazebo's default grey.
fn sky(path: &Path, world: Node) -> Result<Sky, WorldError> {
    let Some(scene) = world.children().find(|n| n.has_tag_name("scene")) else {
        return Ok(Sky::Background(DEFAULT_BACKGROUND));
    };
    if scene.children().any(|n| n.has_tag_name("sky")) {
        return Ok(Sky::Gradient);
    }
    match text_of(scene, "background") {
        None => Ok(Sky::Background(DEFAULT_BACKGROUND)),
        Some(text) => Ok(Sky::Background(
            colour(path, "background", text)?.map(|c| (c * 255.0).round() as u8),
        )),
    }
}

/// The name Gazebo knows a model by (`model://NAME`): the folder of its `model*.sdf`. The
/// `<model name>` inside is often copied from another circuit (three of Behavior Metrics' four
/// are `nulburgrin`), so it does not tell circuits apart.
fn model_folder_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    if !(file.starts_with("model") && file.ends_with(".sdf")) {
        return None;
    }
    Some(path.parent()?.file_name()?.to_string_lossy().into_owned())
}

pub(super) fn text_of<'a>(node: Node<'a, '_>, tag: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.has_tag_name(tag))
        .and_then(|c| c.text())
        .map(str::trim)
}

/// `<pose>x y z roll pitch yaw</pose>` of `node`, identity when absent.
pub(super) fn pose(path: &Path, node: Node<'_, '_>) -> Result<Mat4, WorldError> {
    let Some(text) = text_of(node, "pose") else {
        return Ok(Mat4::IDENTITY);
    };
    let v = numbers(path, text, 6, "pose")?;
    Ok(Mat4::pose([v[0], v[1], v[2]], [v[3], v[4], v[5]]))
}

pub(super) fn numbers(
    path: &Path,
    text: &str,
    n: usize,
    what: &str,
) -> Result<Vec<f64>, WorldError> {
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|s| s.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| error(path, format!("<{what}>{text}</{what}> is not {n} numbers")))?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        return Err(error(
            path,
            format!("<{what}>{text}</{what}> is not {n} finite numbers"),
        ));
    }
    Ok(v)
}

fn model(
    path: &Path,
    node: Node<'_, '_>,
    parent: &Mat4,
    out: &mut Description,
    depth: usize,
) -> Result<(), WorldError> {
    if out.name.is_none() {
        out.name = node.attribute("name").map(str::to_string);
    }
    let m = parent.mul(&pose(path, node)?);
    for item in node.children().filter(Node::is_element) {
        match item.tag_name().name() {
            "link" => link(path, item, &m, out)?,
            "include" => include(path, item, &m, out, depth)?,
            "model" => model(path, item, &m, out, depth)?,
            _ => {}
        }
    }
    Ok(())
}

fn link(
    path: &Path,
    node: Node<'_, '_>,
    parent: &Mat4,
    out: &mut Description,
) -> Result<(), WorldError> {
    for (visual, kind) in link_meshes(path, node, parent, &mut out.meshes)? {
        tracing::warn!(
            file = %path.display(), visual, kind,
            "visual geometry other than a mesh is not drawn"
        );
    }
    Ok(())
}

/// The meshes the visuals of the link `node` (placed by `parent`) draw, added to `meshes`;
/// returns the visuals drawing something else (name, geometry), which are not drawn.
pub(super) fn link_meshes(
    path: &Path,
    node: Node<'_, '_>,
    parent: &Mat4,
    meshes: &mut Vec<MeshVisual>,
) -> Result<Vec<(String, String)>, WorldError> {
    let mut skipped = Vec::new();
    let m = parent.mul(&pose(path, node)?);
    for visual in node.children().filter(|c| c.has_tag_name("visual")) {
        let v = m.mul(&pose(path, visual)?);
        let name = visual.attribute("name").unwrap_or("(unnamed)");
        let Some(geometry) = visual.children().find(|c| c.has_tag_name("geometry")) else {
            return Err(error(path, format!("visual '{name}' has no <geometry>")));
        };
        let Some(mesh) = geometry.children().find(|c| c.has_tag_name("mesh")) else {
            let kind = geometry
                .children()
                .find(Node::is_element)
                .map(|c| c.tag_name().name())
                .unwrap_or("nothing");
            skipped.push((name.to_string(), kind.to_string()));
            continue;
        };
        let uri = text_of(mesh, "uri")
            .ok_or_else(|| error(path, format!("visual '{name}': <mesh> has no <uri>")))?;
        let file = resolve(path, uri)?;
        let scale = match text_of(mesh, "scale") {
            Some(s) => numbers(path, s, 3, "scale")?,
            None => vec![1.0; 3],
        };
        let scaling = Mat4::rows([
            [scale[0], 0.0, 0.0, 0.0],
            [0.0, scale[1], 0.0, 0.0],
            [0.0, 0.0, scale[2], 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]);
        meshes.push(MeshVisual {
            file,
            placement: v.mul(&scaling),
        });
    }
    Ok(skipped)
}

fn include(
    path: &Path,
    node: Node<'_, '_>,
    parent: &Mat4,
    out: &mut Description,
    depth: usize,
) -> Result<(), WorldError> {
    let uri = text_of(node, "uri").ok_or_else(|| error(path, "<include> has no <uri>"))?;
    let m = parent.mul(&pose(path, node)?);
    let model_name = uri
        .strip_prefix("model://")
        .unwrap_or(uri)
        .trim_end_matches('/');
    if model_name == "sun" {
        return Ok(());
    }
    if model_name.starts_with("f1") {
        let car = car::place(path, uri, &m)?;
        out.start = Some(car.start);
        out.camera = car.camera;
        out.body = car.body;
        return Ok(());
    }
    let dir = resolve(path, uri)?;
    let file = model_file(&dir).ok_or_else(|| {
        error(
            path,
            format!("include '{uri}': {} has no model.sdf", dir.display()),
        )
    })?;
    read_into(&file, &m, out, depth + 1)
}

/// A model folder's SDF file, as Gazebo picks it.
pub(super) fn model_file(dir: &Path) -> Option<PathBuf> {
    ["model.sdf", "model-1_4.sdf", "model-1_3.sdf"]
        .iter()
        .map(|f| dir.join(f))
        .find(|f| f.exists())
}

/// The file or folder a URI names, relative to the SDF file at `path`.
pub(super) fn resolve(path: &Path, uri: &str) -> Result<PathBuf, WorldError> {
    let here = path.parent().unwrap_or(Path::new("."));
    if let Some(rest) = uri.strip_prefix("model://") {
        let mut bases: Vec<PathBuf> = std::env::var_os("GAZEBO_MODEL_PATH")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        bases.push(here.to_path_buf());
        if let Some(parent) = here.parent() {
            bases.push(parent.to_path_buf());
        }
        return bases
            .iter()
            .map(|b| b.join(rest))
            .find(|p| p.exists())
            .ok_or_else(|| {
                error(
                    path,
                    format!(
                        "'{uri}' is not in GAZEBO_MODEL_PATH nor beside the file (looked in {})",
                        bases
                            .iter()
                            .map(|b| b.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            });
    }
    let local = uri.strip_prefix("file://").unwrap_or(uri);
    let p = here.join(local);
    if p.exists() {
        Ok(p)
    } else {
        Err(error(
            path,
            format!("'{uri}' does not exist ({})", p.display()),
        ))
    }
}
