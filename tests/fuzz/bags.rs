//! Bags: Behavior Metrics' ROS 1 perfect-lap bags (read as a circuit, as `--circuit x.bag`,
//! and as a recording, as `metrics` reads it), and rosbag2 bags in MCAP and SQLite3 written by
//! an independent writer from PyPI (the factory's `bags` module), read the way `metrics` reads
//! them. One file of the bag is mutated
//! per input.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::recording::{Recording, TopicChoice};
use proptest::prelude::*;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

/// A bag as its files, and which of them the reader is pointed at.
#[derive(Clone)]
struct Bag {
    files: Vec<(PathBuf, Vec<u8>)>,
    open: PathBuf,
}

/// A rosbag2 bag of a 10 m circle driven for 4 s, written by `writer` into `name`.
fn rosbag2(writer: &str, name: &str) -> Bag {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(name);
    let flags = [
        "--circle",
        "10",
        "--seconds",
        "4",
        "--hz",
        "20",
        "--writer",
        writer,
        "--out",
    ];
    let args: Vec<&OsStr> = flags
        .iter()
        .map(OsStr::new)
        .chain([out.as_os_str()])
        .collect();
    crate::util::factory("bags", &args);
    let files: Vec<(PathBuf, Vec<u8>)> = if out.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| PathBuf::from(e.unwrap().file_name()))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let bytes = std::fs::read(out.join(&n)).unwrap();
                (PathBuf::from(name).join(n), bytes)
            })
            .collect()
    } else {
        vec![(PathBuf::from(name), std::fs::read(&out).unwrap())]
    };
    Bag {
        files,
        open: PathBuf::from(name),
    }
}

fn ros1() -> Bag {
    let path = crate::util::reference_circuits()
        .join("../behavior-metrics/perfect_bags/lap-simple-circuit.bag");
    Bag {
        files: vec![(PathBuf::from("lap.bag"), std::fs::read(&path).unwrap())],
        open: PathBuf::from("lap.bag"),
    }
}

fn read(dir: &Path, bag: &Bag) -> Result<(), String> {
    let path = dir.join(&bag.open);
    if bag.open.extension().is_some_and(|e| e == "bag") {
        // A ROS 1 bag is a reference lap and a recording to score.
        let circuit = Circuit::load(
            path.to_str().unwrap(),
            RoadGeometry::behavior_metrics(),
            false,
        );
        error_says_something(&circuit)?;
    }
    let recording = Recording::read(&path, &TopicChoice::default());
    error_says_something(&recording)?;
    if let Ok(r) = recording {
        if r.odometry.iter().any(|o| !o.stamp.is_finite()) {
            return Err("odometry with a non-finite stamp".into());
        }
    }
    Ok(())
}

#[test]
fn bags() {
    let bags = vec![
        ros1(),
        rosbag2("mcap", "lap.mcap"),
        rosbag2("rosbags-sqlite3", "sqlite_bag"),
    ];
    for bag in &bags {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &bag.files {
            std::fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let path = dir.path().join(&bag.open);
        if bag.open.extension().is_some_and(|e| e == "bag") {
            Circuit::load(
                path.to_str().unwrap(),
                RoadGeometry::behavior_metrics(),
                false,
            )
            .unwrap_or_else(|e| panic!("seed {}: {e}", bag.open.display()));
        }
        Recording::read(&path, &TopicChoice::default())
            .unwrap_or_else(|e| panic!("seed {}: {e}", bag.open.display()));
    }
    let choices: Vec<(usize, usize)> = bags
        .iter()
        .enumerate()
        .flat_map(|(b, bag)| (0..bag.files.len()).map(move |f| (b, f)))
        .collect();
    let seeds = bags.clone();
    let inputs = proptest::sample::select(choices).prop_flat_map(move |(b, f)| {
        let seed = seeds[b].files[f].1.clone();
        mutate::inputs(vec![seed], 1024).prop_map(move |bytes| (b, f, bytes))
    });
    run("bags", 96, inputs, |(b, f, Bytes(data))| {
        let dir = tempfile::tempdir().unwrap();
        let mut bag = bags[b].clone();
        bag.files[f].1 = data;
        for (name, bytes) in &bag.files {
            std::fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        read(dir.path(), &bag)
    });
}

/// An MCAP chunk whose uncompressed size field is damaged is an error naming the file.
#[test]
fn an_mcap_chunk_claiming_exabytes_is_an_error_not_an_abort() {
    let bag = rosbag2("mcap", "lap.mcap");
    let mut data = bag.files[0].1.clone();
    // Records after the 8 magic bytes: opcode, u64 length, body; a chunk is opcode 6 and its
    // uncompressed size the third u64 of its body.
    let mut at = 8;
    let chunk = loop {
        assert!(at + 9 <= data.len(), "no chunk in the MCAP file");
        let len = u64::from_le_bytes(data[at + 1..at + 9].try_into().unwrap()) as usize;
        if data[at] == 0x06 {
            break at + 9;
        }
        at += 9 + len;
    };
    data[chunk + 16..chunk + 24].copy_from_slice(&8_710_243_154_311_249_929u64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lap.mcap");
    std::fs::write(&path, &data).unwrap();
    let e = Recording::read(&path, &TopicChoice::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("lap.mcap") && e.contains("damaged"), "{e}");
}

/// Found by `bags`: a message record inside a compressed chunk whose length field is damaged
/// made the `mcap` message stream reserve that many bytes, and the process abort.
#[test]
fn an_mcap_record_claiming_exabytes_is_an_error_not_an_abort() {
    // LZ4 stores what does not compress as it is: a message of noise leaves the record's
    // header readable (and patchable) inside the compressed chunk.
    const LEN: usize = 4096;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut writer = mcap::WriteOptions::new()
        .compression(Some(mcap::Compression::Lz4))
        .create(&mut buf)
        .unwrap();
    let schema = writer
        .add_schema("nav_msgs/msg/Odometry", "ros2msg", b"")
        .unwrap();
    let channel = writer
        .add_channel(schema, "/odom", "cdr", &Default::default())
        .unwrap();
    let header = mcap::records::MessageHeader {
        channel_id: channel,
        sequence: 1,
        log_time: 1,
        publish_time: 1,
    };
    writer.write_to_known_channel(&header, &noise).unwrap();
    writer.finish().unwrap();
    drop(writer);
    let mut data = buf.into_inner();
    // The message record: opcode 5, then its length (channel, sequence, two times, the noise).
    let mut record = vec![0x05u8];
    record.extend_from_slice(&(2u64 + 4 + 8 + 8 + LEN as u64).to_le_bytes());
    let at = data
        .windows(record.len())
        .position(|w| w == record.as_slice())
        .expect("the message record, stored as it is");
    data[at + 1..at + 9].copy_from_slice(&4_617_315_517_961_601_033u64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lap.mcap");
    std::fs::write(&path, &data).unwrap();
    let e = Recording::read(&path, &TopicChoice::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lap.mcap") && e.contains("damaged after 0 messages"),
        "{e}"
    );
}
