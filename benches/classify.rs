//! Measures how long the classifier takes per Job on every fixture, and the JobHealth status
//! size each finding produces. Run with `cargo bench --bench classify`.

use std::path::Path;
use std::time::Instant;

use jobhealth::classify::{Thresholds, classify, group_by_job, newest_timestamp, parse_objects};

const ROUNDS: u32 = 2_000;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();

    println!("{:<58} {:>12} {:>14}", "fixture", "µs per Job", "finding bytes");
    let mut total_micros = 0.0;
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let objects = parse_objects(&text).unwrap();
        let groups = group_by_job(&objects);
        let observation = groups[0].observation();
        let now = newest_timestamp(&observation).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let thresholds = Thresholds::default();

        let started = Instant::now();
        let mut size = 0;
        for _ in 0..ROUNDS {
            let finding = classify(&observation, &thresholds, now);
            size = std::hint::black_box(&finding).message.len();
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
        let finding = classify(&observation, &thresholds, now);
        let bytes = serde_json::to_vec(&finding).unwrap().len();
        let _ = size;
        total_micros += micros;
        println!("{:<58} {micros:>12.1} {bytes:>14}", path.file_name().unwrap().to_string_lossy());
    }
    println!("mean over {} fixtures: {:.1} µs per Job", paths.len(), total_micros / paths.len() as f64);
}
