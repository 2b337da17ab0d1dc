//! Datasets: this project's layout (`labels.csv` naming images) and DeepLearningStudio's
//! (`data.csv` with numbered PNG frames), with the labels or one image mutated per input,
//! read the way `dataset` and the factory's tools read them (labels, then every image).

use std::io::Cursor;
use std::path::Path;

use pilotnet_brain::tools::dataset::{read_image, read_samples};
use proptest::prelude::*;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

fn png(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([shade, (x * 8) as u8, (y * 10) as u8])
    });
    let mut buf = Vec::new();
    img.write_to(&mut Cursor::new(&mut buf), image::ImageFormat::Png)
        .expect("seed encodes");
    buf
}

/// One dataset in each layout: its labels file, then its images.
fn layouts() -> [Vec<(&'static str, Vec<u8>)>; 2] {
    [
        vec![
            (
                "labels.csv",
                b"image,v,w\nimg/a.png,4.5,0.25\nimg/b.png,5.0,-0.5\nimg/c.png,3.25,1e-3\n"
                    .to_vec(),
            ),
            ("img/a.png", png(10)),
            ("img/b.png", png(120)),
            ("img/c.png", png(250)),
        ],
        vec![
            (
                "data.csv",
                b"v,w\n4.5,0.25\n5.0,-0.5\n3.25,0.001\n".to_vec(),
            ),
            ("0.png", png(10)),
            ("1.png", png(120)),
            ("2.png", png(250)),
        ],
    ]
}

fn read_all(dir: &Path) -> Result<(), String> {
    let samples = read_samples(dir);
    error_says_something(&samples)?;
    for s in samples.iter().flatten() {
        if !(s.v.is_finite() && s.w.is_finite()) {
            return Err(format!("a sample labelled v {} w {}", s.v, s.w));
        }
        let frame = read_image(&s.image);
        error_says_something(&frame)?;
        if let Ok(f) = frame {
            f.validate()
                .map_err(|e| format!("an image that does not validate: {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn datasets() {
    let inputs = (0usize..2, 0usize..4).prop_flat_map(|(layout, file)| {
        let seed = layouts()[layout][file].1.clone();
        mutate::inputs(vec![seed], 256).prop_map(move |bytes| (layout, file, bytes))
    });
    run("datasets", 256, inputs, |(layout, file, Bytes(data))| {
        let dir = tempfile::tempdir().unwrap();
        let mut files = layouts()[layout].clone();
        files[file].1 = data;
        for (name, bytes) in &files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        read_all(dir.path())
    });
}
