//! The `pilotnet-brain` binary: parses the command line, runs the library, prints results.
//! Errors print their whole chain and exit with status 2.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{
    flag_error, BenchArgs, Cli, Command, CompareArgs, DatasetArgs, ExperimentArgs, MetricsArgs,
    ModelsArgs, PilotChoice, PredictArgs, SimArgs,
};
use pilotnet_brain::base::out_dir::ensure_writable;
use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot};
use pilotnet_brain::evaluation::circuit::{Circuit, BUILTIN_CIRCUITS};
use pilotnet_brain::evaluation::laps::Sample;
use pilotnet_brain::evaluation::record::RunRecord;
use pilotnet_brain::evaluation::report;
use pilotnet_brain::inference::backend::BackendConfig;
use pilotnet_brain::inference::manifest::{resolve_model, Manifest};
use pilotnet_brain::sim;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: logs captured by ros2 launch or a file stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => run_sim(&args),
        Command::Circuits => list_circuits(),
        Command::Bench(args) => run_bench(&args),
        Command::Dataset(args) => run_dataset(&args),
        Command::Models(args) => list_models(&args),
        Command::Metrics(args) => run_metrics(&args),
        Command::Predict(args) => run_predict(&args),
        Command::Compare(args) => run_compare(&args),
        Command::Experiment(args) => run_experiment(&args),
        #[cfg(feature = "ros2")]
        Command::Node(_) => pilotnet_brain::ros::brain_node::run().map_err(anyhow::Error::from),
        #[cfg(feature = "ros2")]
        Command::SimNode(_) => pilotnet_brain::ros::sim_node::run().map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain_message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each once: library errors already quote their source in their
/// own message, so a cause whose text is already there is not repeated.
fn chain_message(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

fn run_sim(args: &SimArgs) -> anyhow::Result<()> {
    // Every setting is checked before anything loads or drives.
    let backend = args.backend.to_config()?;
    let (choice, model) = args.pilot().map_err(anyhow::Error::msg)?;
    let track = args.track()?;
    let circuit = &track.circuit;
    let config = args.to_config(circuit.length(), track.camera())?;
    // Folders that cannot be written are refused before the lap, not after it.
    if let Some(dir) = &args.out {
        ensure_writable("--out", dir)?;
    }
    if let Some(dir) = &args.save_frames {
        ensure_writable("--save-frames", dir)?;
    }
    let pilot: Box<dyn Pilot> = match (choice, model) {
        (PilotChoice::Model, Some(path)) => {
            Box::new(NetworkPilot::open(&resolve_model(&path)?, &backend)?)
        }
        _ => Box::new(ExpertPilot::new(
            config.world.camera,
            ExpertConfig::default(),
        )),
    };
    tracing::info!(circuit = %circuit.name, length_m = circuit.length(), "driving");
    let run = sim::run(&track, pilot, &config)?;
    publish(
        &run.record,
        circuit,
        &run.trajectory,
        args.out.as_deref(),
        args.json,
    )
}

/// Writes a run's folder when asked for (`--out`) and prints its record: one JSON line
/// (`--json`) or the table.
fn publish(
    record: &RunRecord,
    circuit: &Circuit,
    trajectory: &[Sample],
    out: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(dir) = out {
        report::write_dir(dir, record, circuit, trajectory)
            .with_context(|| format!("writing the results to {}", dir.display()))?;
    }
    if json {
        println!("{}", record.to_json());
    } else {
        print!("{}", report::table(record));
        if let Some(dir) = out {
            println!("results written to {}", dir.display());
        }
    }
    Ok(())
}

fn run_metrics(args: &MetricsArgs) -> anyhow::Result<()> {
    use pilotnet_brain::evaluation::circuit::RoadGeometry;
    use pilotnet_brain::evaluation::replay;
    use pilotnet_brain::recording::{Recording, TopicChoice};
    use pilotnet_brain::sim::track::{is_world, Track};
    let road = RoadGeometry {
        road_width: args.road_width,
        ..RoadGeometry::behavior_metrics()
    };
    road.validate().map_err(flag_error)?;
    let reference = if is_world(&args.reference) {
        Track::world(std::path::Path::new(&args.reference), false)?.circuit
    } else {
        Circuit::load(&args.reference, road, false)?
    };
    let recording = Recording::read(
        &args.bag,
        &TopicChoice {
            odometry: args.odom.clone(),
            clock: args.clock.clone(),
            command: args.cmd.clone(),
        },
    )?;
    if let Some(dir) = &args.out {
        ensure_writable("--out", dir)?;
    }
    let run = replay::score(&recording, &reference, args.laps, args.direction.into());
    publish(
        &run.record,
        &reference,
        &run.trajectory,
        args.out.as_deref(),
        args.json,
    )
}

fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    use pilotnet_brain::base::camera::CameraConfig;
    use pilotnet_brain::tools::predict;
    let images = predict::pictures(&args.images)?;
    let mut network = if args.expert_only {
        None
    } else {
        let backend = args.backend.to_config()?;
        Some(NetworkPilot::open(&resolve_model(&args.model)?, &backend)?)
    };
    let name = network.as_ref().map(|n| n.name().to_string());
    let camera = match &args.world {
        Some(world) => pilotnet_brain::sim::gazebo::camera(world)?,
        None => None,
    };
    let answers = predict::predict(
        &images,
        network.as_mut(),
        camera.unwrap_or_else(CameraConfig::behavior_metrics_f1),
    )?;
    let show = |a: Option<predict::Answer>| {
        a.map_or("-".to_string(), |a| format!("{:>7.3} {:>7.3}", a.v, a.w))
    };
    let width = answers
        .iter()
        .map(|p| p.image.display().to_string().len())
        .max()
        .unwrap_or(0)
        .max(5);
    if !args.json {
        println!(
            "{:<width$} {:>15} {:>15}  {}",
            "image",
            "network v    w",
            "expert v    w",
            name.as_deref().unwrap_or("(expert only)")
        );
    }
    for p in &answers {
        if args.json {
            println!("{}", serde_json::to_string(p)?);
        } else {
            let notes: Vec<String> = [("network", &p.network_note), ("expert", &p.expert_note)]
                .iter()
                .filter_map(|(who, note)| note.as_ref().map(|n| format!("{who}: {n}")))
                .collect();
            println!(
                "{:<width$} {:>15} {:>15}  {}",
                p.image.display(),
                show(p.network),
                show(p.expert),
                notes.join("; ")
            );
        }
    }
    let refused = answers.iter().filter(|p| p.network_note.is_some()).count();
    if refused > 0 {
        anyhow::bail!(
            "the network refused {refused} of {} pictures (reasons above)",
            answers.len()
        );
    }
    Ok(())
}

fn run_compare(args: &CompareArgs) -> anyhow::Result<()> {
    use pilotnet_brain::sim::{Look, Track};
    use pilotnet_brain::tools::compare;
    let track = Track::open_in(&args.world, None, false, Look::BehaviorMetrics, args.light)?;
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            ensure_writable("--out", dir)?;
        }
    }
    let c = compare::compare(&track, &args.image, args.pose)?;
    if let Some(out) = &args.out {
        c.save_side_by_side(out)
            .map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&c)?);
    } else {
        print!("{}", c.table());
        if let Some(out) = &args.out {
            println!("\nside by side: {}", out.display());
        }
    }
    Ok(())
}

fn run_experiment(args: &ExperimentArgs) -> anyhow::Result<()> {
    use pilotnet_brain::tools::experiment::{self, runner, Experiment, RunOptions, Shard};
    let started = std::time::Instant::now();
    let out = if !args.collect.is_empty() {
        let out = args
            .out
            .clone()
            .context("--collect: name the merged folder with --out")?;
        ensure_writable("--out", &out)?;
        let index = experiment::report::collect(&args.collect, &out)?;
        println!(
            "collected {} cells of '{}' from {} folder(s) into {}",
            index.cells.len(),
            index.experiment.name,
            args.collect.len(),
            out.display()
        );
        out
    } else {
        let file = args.file.as_ref().context("an experiment file is needed")?;
        let spec = Experiment::read(file)?;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| std::path::Path::new("runs").join(&spec.name));
        let workers = args.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        if workers == 0 || workers > runner::MAX_WORKERS {
            anyhow::bail!(
                "--workers: {workers} is not in [1, {}]",
                runner::MAX_WORKERS
            );
        }
        ensure_writable("--out", &out)?;
        if let Some(dir) = &args.report {
            ensure_writable("--report", dir)?;
        }
        let shard = args.shard.unwrap_or(Shard::ALL);
        let summary = experiment::run(
            &spec,
            &RunOptions {
                out: out.clone(),
                workers,
                shard,
                progress: !args.no_progress,
            },
        )?;
        println!(
            "{}: {} cells{}, {} kept, {} run with {} worker(s) in {}",
            spec.name,
            summary.cells,
            if args.shard.is_some() {
                format!(" in shard {shard}")
            } else {
                String::new()
            },
            summary.kept,
            summary.ran,
            summary.workers,
            runner::format_duration(std::time::Duration::from_secs_f64(summary.wall_seconds))
        );
        if args.shard.is_some() {
            println!(
                "merge the shards with: pilotnet-brain experiment --collect DIR... --out MERGED"
            );
            return Ok(());
        }
        out
    };
    let report_dir = args.report.clone().unwrap_or_else(|| out.join("report"));
    let report = experiment::report::write(&out, &report_dir)?;
    println!(
        "report: {} cells, {} figures (PNG and SVG), {}",
        report.cells,
        report.figures,
        report.page.display()
    );
    if !report.missing.is_empty() {
        println!("not finished: {} cells", report.missing.len());
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "experiment done");
    Ok(())
}

fn run_bench(args: &BenchArgs) -> anyhow::Result<()> {
    let backend = args.backend.to_config()?;
    let config = args.to_config()?;
    let model = resolve_model(&args.model)?;
    let report = pilotnet_brain::tools::bench::run(&model, &backend, &config)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

fn run_dataset(args: &DatasetArgs) -> anyhow::Result<()> {
    use pilotnet_brain::tools::dataset::{
        collect, AppearanceRange, CollectConfig, DriverSetup, Perturbation,
    };
    let input = match &args.description {
        Some(path) => pilotnet_brain::inference::model::Description::read(path)?.input,
        None => pilotnet_brain::inference::model::InputSpec::behavior_metrics(),
    };
    let defaults = Perturbation::default();
    let config = CollectConfig {
        circuits: args.circuits.clone(),
        both_directions: !args.one_direction,
        frames: args.frames,
        out: args.out.clone(),
        seed: args.seed,
        perturbation: Perturbation {
            rate_hz: args.perturb_rate,
            yaw_rate: (
                defaults.yaw_rate.0.min(args.perturb_max_yaw_rate),
                args.perturb_max_yaw_rate,
            ),
            ..defaults
        },
        appearance: if args.plain {
            AppearanceRange::none()
        } else {
            AppearanceRange::default()
        },
        full_frame_every: args.full_every,
        input,
        look: args.look,
        road: args.road_width.map(
            |road_width| pilotnet_brain::evaluation::circuit::RoadGeometry {
                road_width,
                ..args.look.road()
            },
        ),
        looks: args.looks.then(|| {
            let mut range = pilotnet_brain::sim::looks::LookRange::gazebo();
            range.ambient = args.looks_ambient.unwrap_or(range.ambient);
            range.texture_diffuse = args.looks_texture.unwrap_or(range.texture_diffuse);
            range
        }),
        look_every_s: args.look_every,
        driver: match &args.driver {
            Some(path) => Some(DriverSetup {
                model: resolve_model(path)?,
                backend: BackendConfig {
                    kind: args.driver_backend,
                    ..BackendConfig::default()
                },
            }),
            None => None,
        },
    };
    config.validate().map_err(flag_error)?;
    let summary = collect(&config)
        .with_context(|| format!("collecting a dataset into {}", args.out.display()))?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn list_models(args: &ModelsArgs) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(Manifest::default_dir);
    let manifest = Manifest::read(&dir)?;
    println!(
        "{:<18} {:<4} {:<20} {:>8} {:>9} {:>8} {:>8}  shipped",
        "name", "eng", "precision", "size MB", "test MSE", "sparsity", "trim"
    );
    let mut failed = 0;
    for v in &manifest.variants {
        let status = match (v.shipped, args.verify) {
            (false, _) => "no (factory)".to_string(),
            (true, false) => "yes".to_string(),
            (true, true) => match manifest.verify(v) {
                Ok(()) => "yes, verified".to_string(),
                Err(e) => {
                    failed += 1;
                    format!("yes, FAILED: {e}")
                }
            },
        };
        let sparsity = v.sparsity.map(|s| format!("{s:.2}")).unwrap_or_default();
        // The steering trim in the variant's description (rad/s): its own, else the network's.
        let trim = v
            .steering_trim_rad_s
            .unwrap_or(manifest.training.steering_trim_rad_s);
        println!(
            "{:<18} {:<4} {:<20} {:>8.2} {:>9.5} {:>8} {:>+8.4}  {status}",
            v.name,
            v.backend.as_str(),
            v.precision,
            v.size_mb,
            v.test_mse,
            sparsity,
            trim
        );
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} shipped model(s) differ from {}",
            dir.join("manifest.yaml").display()
        );
    }
    Ok(())
}

fn list_circuits() -> anyhow::Result<()> {
    println!(
        "{:<12} {:>9} {:>11}  character",
        "name", "length", "min radius"
    );
    for b in BUILTIN_CIRCUITS {
        let c = Circuit::load(b.name, Default::default(), false)?;
        println!(
            "{:<12} {:>7.0} m {:>9.1} m  {}",
            b.name,
            c.length(),
            c.min_radius(),
            b.character
        );
    }
    Ok(())
}
