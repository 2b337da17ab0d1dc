//! Gazebo models: a small circuit laid out as Behavior Metrics' are (`model.sdf` including a
//! ground and a red line, each a COLLADA mesh), with one of its files mutated per input, then
//! loaded the way `sim --world` loads one (SDF, meshes, red line traced).

use std::path::Path;

use pilotnet_brain::sim::gazebo;
use proptest::prelude::*;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

const SDF: &str = r#"<?xml version="1.0"?>
<sdf version="1.5"><model name="ring"><static>true</static>
  <link name="road"><pose>0 0 0 0 0 0</pose><visual name="visual"><geometry><mesh>
    <uri>model://ring/meshes/road.dae</uri><scale>1 1 1</scale></mesh></geometry></visual></link>
  <link name="line"><pose>0 0 0.002 0 0 0</pose><visual name="visual"><geometry><mesh>
    <uri>model://ring/meshes/line.dae</uri></mesh></geometry></visual></link>
</model></sdf>"#;

/// A flat ring between radii `inner` and `outer` (metres, 60 segments) of one Lambert colour.
fn ring_dae(inner: f64, outer: f64, rgb: [f64; 3]) -> String {
    let n = 60;
    let mut positions = Vec::new();
    for i in 0..n {
        let a = std::f64::consts::TAU * i as f64 / n as f64;
        for r in [inner, outer] {
            positions.push(format!("{:.4} {:.4} 0", r * a.cos(), r * a.sin()));
        }
    }
    let mut indices = Vec::new();
    for i in 0..n {
        let (a0, a1) = (2 * i, 2 * i + 1);
        let (b0, b1) = (2 * ((i + 1) % n), 2 * ((i + 1) % n) + 1);
        indices.push(format!("{a0} {a1} {b1} {a0} {b1} {b0}"));
    }
    let [r, g, b] = rgb;
    format!(
        r##"<?xml version="1.0" encoding="utf-8"?>
<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
<asset><created>2024-01-01T00:00:00</created><modified>2024-01-01T00:00:00</modified><unit name="meter" meter="1"/><up_axis>Z_UP</up_axis></asset>
<library_effects><effect id="paint-fx"><profile_COMMON><technique sid="common"><lambert><diffuse><color>{r} {g} {b} 1</color></diffuse></lambert></technique></profile_COMMON></effect></library_effects>
<library_materials><material id="paint" name="paint"><instance_effect url="#paint-fx"/></material></library_materials>
<library_geometries><geometry id="ring"><mesh>
<source id="ring-pos"><float_array id="ring-pos-array" count="{fc}">{pos}</float_array>
<technique_common><accessor source="#ring-pos-array" count="{vc}" stride="3"><param name="X" type="float"/><param name="Y" type="float"/><param name="Z" type="float"/></accessor></technique_common></source>
<vertices id="ring-vtx"><input semantic="POSITION" source="#ring-pos"/></vertices>
<triangles material="paint-sym" count="{tc}"><input semantic="VERTEX" source="#ring-vtx" offset="0"/><p>{idx}</p></triangles>
</mesh></geometry></library_geometries>
<library_visual_scenes><visual_scene id="world"><node id="ring-node"><instance_geometry url="#ring"><bind_material><technique_common><instance_material symbol="paint-sym" target="#paint"/></technique_common></bind_material></instance_geometry></node></visual_scene></library_visual_scenes>
<scene><instance_visual_scene url="#world"/></scene>
</COLLADA>"##,
        fc = positions.len() * 3,
        vc = positions.len(),
        tc = 2 * n,
        pos = positions.join(" "),
        idx = indices.join(" "),
    )
}

/// The circuit's files: the SDF, then the road and line meshes.
fn files() -> [(&'static str, Vec<u8>); 3] {
    [
        ("model.sdf", SDF.as_bytes().to_vec()),
        (
            "meshes/road.dae",
            ring_dae(7.0, 13.0, [0.3, 0.3, 0.3]).into_bytes(),
        ),
        (
            "meshes/line.dae",
            ring_dae(9.95, 10.05, [1.0, 0.0, 0.0]).into_bytes(),
        ),
    ]
}

fn write(dir: &Path, files: &[(&str, Vec<u8>)]) {
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn the_seed_circuit_loads_and_traces_round() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ring");
    write(&model, &files());
    let world = gazebo::load(&model.join("model.sdf"), gazebo::Light::World)
        .unwrap_or_else(|e| panic!("{e}"));
    let length: f64 = world.line.points.windows(2).map(|w| w[0].dist(w[1])).sum();
    assert!(
        (length - std::f64::consts::TAU * 10.0).abs() < 1.0,
        "{length}"
    );
}

#[test]
fn gazebo_models() {
    let seeds = files();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ring");
    let inputs = (0..seeds.len()).prop_flat_map(move |which| {
        let seed = seeds[which].1.clone();
        mutate::inputs(vec![seed], 512).prop_map(move |bytes| (which, bytes))
    });
    run("gazebo_models", 128, inputs, |(which, Bytes(data))| {
        let mut files = files();
        files[which].1 = data;
        write(&model, &files);
        let result = gazebo::load(&model.join("model.sdf"), gazebo::Light::World);
        error_says_something(&result)?;
        if let Ok(world) = result {
            if world
                .line
                .points
                .iter()
                .any(|p| !(p.x.is_finite() && p.y.is_finite()))
            {
                return Err("a traced line with a non-finite point".into());
            }
        }
        Ok(())
    });
}

/// Found by `gazebo_models`: a damaged coordinate put a vertex trillions of metres out, and the
/// red line's triangle index was allocated for the whole span; now the mesh is refused by name.
#[test]
fn a_vertex_a_trillion_metres_out_is_an_error_naming_the_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ring");
    let mut files = files();
    let road = String::from_utf8(files[1].1.clone()).unwrap();
    files[1].1 = road
        .replacen("7.0000 0.0000 0", "7e12 0.0000 0", 1)
        .into_bytes();
    assert_ne!(files[1].1, road.as_bytes(), "the seed holds the vertex");
    write(&model, &files);
    let e = gazebo::load(&model.join("model.sdf"), gazebo::Light::World)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("road.dae") && e.contains("beyond the 50000 m"),
        "{e}"
    );
}
