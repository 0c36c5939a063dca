//! What the bench reads from the operating system: a process's fsync calls (to measure
//! allot's commit groups, which it does not export), its memory, and the page cache.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};

/// The sync calls a process made on its SQLite files while a counter ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct Syncs {
    /// On the write-ahead log (`allot.db-wal`, say).
    pub wal: u64,
    /// On the database file (`allot.db`): only checkpoints sync it.
    pub database: u64,
}

impl Syncs {
    /// Transactions committed. In WAL mode with `synchronous = FULL`, a commit syncs the
    /// log once; a checkpoint syncs the log, then the database, and the first commit after
    /// it syncs the log's new header as well: two syncs of the log per checkpoint that are
    /// not commits. (Checked against SQLite's own batched commits, whose count the bench
    /// knows: see `docs/BENCHMARKS.md`.)
    pub fn commits(&self) -> u64 {
        self.wal.saturating_sub(2 * self.database)
    }
}

/// Counts the `fsync` and `fdatasync` calls of process `pid` on a SQLite database, with
/// `perf stat` on the system-call tracepoints: the kernel counts them, and the process is
/// neither stopped nor slowed as it would be under `strace`.
pub struct SyncCounter {
    perf: Child,
    output: tempfile::NamedTempFile,
}

impl SyncCounter {
    /// Starts counting the calls on the database file named `database` and its log.
    pub fn start(pid: u32, database: &str) -> Result<Self> {
        let (wal, database) = (open_files(pid, &format!("{database}-wal"))?, open_files(pid, database)?);
        ensure!(!wal.is_empty() && !database.is_empty(), "process {pid} has no SQLite database and log open");
        let output = tempfile::NamedTempFile::new()?;
        let mut command = Command::new("perf");
        command.args(["stat", "-x", ",", "-o"]).arg(output.path()).args(["-p", &pid.to_string()]);
        // One event per call and file kind, each filtered to the files' descriptors.
        for fds in [&wal, &database] {
            let filter = fds.iter().map(|fd| format!("fd == {fd}")).collect::<Vec<_>>().join(" || ");
            for call in ["fsync", "fdatasync"] {
                command.args(["-e", &format!("syscalls:sys_enter_{call}"), "--filter", &filter]);
            }
        }
        let perf = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().context("cannot run perf")?;
        // perf attaches in a few milliseconds; the load starts after.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self { perf, output })
    }

    /// Stops counting (perf prints its counts on SIGINT) and answers them.
    pub fn stop(mut self) -> Result<Syncs> {
        let pid = self.perf.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status()?;
        ensure!(status.success(), "cannot stop perf");
        self.perf.wait()?;
        let report = std::fs::read_to_string(self.output.path())?;
        // CSV lines: count,unit,event,... in the order the events were given.
        let counts: Vec<u64> = report
            .lines()
            .filter(|line| line.contains("syscalls:sys_enter_"))
            .map(|line| line.split(',').next().unwrap_or_default().trim().parse().unwrap_or(0))
            .collect();
        ensure!(counts.len() == 4, "perf counted {} events, not 4:\n{report}", counts.len());
        Ok(Syncs { wal: counts[0] + counts[1], database: counts[2] + counts[3] })
    }
}

/// Whether `perf` can count system calls here (installed, and the tracepoints readable).
pub fn can_count_syncs() -> bool {
    Command::new("perf")
        .args(["stat", "-e", "syscalls:sys_enter_fsync", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The descriptors process `pid` holds open on a file named `name`.
fn open_files(pid: u32, name: &str) -> Result<Vec<u32>> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if target.file_name().is_some_and(|file| file == name) {
            fds.extend(entry.file_name().to_str().and_then(|fd| fd.parse::<u32>().ok()));
        }
    }
    Ok(fds)
}

/// CPU seconds `pid` has used (user and system), from /proc/<pid>/stat.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command's name, in parentheses, may hold spaces: the fields follow its end.
    let fields: Vec<&str> = stat.rsplit_once(')').context("no command name")?.1.split_whitespace().collect();
    let ticks = |n: usize| -> Result<f64> { Ok(fields.get(n).context("short stat")?.parse::<f64>()?) };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let per_second = 100.0; // USER_HZ, 100 on Linux
    Ok((ticks(11)? + ticks(12)?) / per_second)
}

/// Waits until `pid` is idle: less than 5% of a core over two half-second windows in a
/// row, or `limit` has passed. A server just started on a seeded database writes its
/// organizations' first checkpoints (derived data, off the commit path) in the
/// background: measured during that catch-up, a steady-state figure would be a
/// one-time cost's. Answers how long it waited, and whether it settled.
pub async fn wait_settled(pid: u32, limit: std::time::Duration) -> Result<(f64, bool)> {
    let started = std::time::Instant::now();
    let window = std::time::Duration::from_millis(500);
    let mut quiet = 0;
    let mut before = cpu_seconds(pid)?;
    while started.elapsed() < limit {
        tokio::time::sleep(window).await;
        let now = cpu_seconds(pid)?;
        quiet = if now - before < 0.05 * window.as_secs_f64() { quiet + 1 } else { 0 };
        before = now;
        if quiet == 2 {
            return Ok((started.elapsed().as_secs_f64(), true));
        }
    }
    Ok((started.elapsed().as_secs_f64(), false))
}

/// A kibibyte figure from /proc/<pid>/status (`VmRSS`, `VmHWM`), in MB of 10^6 bytes.
pub fn memory_mb(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field}"))?;
    let kib: f64 = line.split_whitespace().nth(1).context("no figure")?.parse()?;
    Ok(kib * 1024.0 / 1e6)
}

/// Drops the page cache (`sync; echo 1 > /proc/sys/vm/drop_caches`) and checks that none
/// of `dir`'s files is left in it: Ok, or why a cold start cannot be measured here.
pub fn drop_page_cache(dir: &Path) -> Result<(), String> {
    let synced = Command::new("sync").status().map_err(|e| format!("cannot run sync: {e}"))?;
    if !synced.success() {
        return Err("sync failed".into());
    }
    std::fs::write("/proc/sys/vm/drop_caches", "1").map_err(|e| format!("cannot drop the page cache: {e}"))?;
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    for file in files {
        let size = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
        let cached = resident_bytes(&file)?;
        // A few pages may be read back by then (the kernel's readahead, a scan); a
        // dropped cache leaves far less than 1% of a file of any size.
        if cached > (size / 100).max(64 * 1024) {
            return Err(format!("{} still has {cached} of {size} bytes in the page cache", file.display()));
        }
    }
    Ok(())
}

/// How much of `file` is in the page cache, from `fincore` (util-linux).
fn resident_bytes(file: &Path) -> Result<u64, String> {
    let output = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run fincore to check the page cache: {e}"))?;
    if !output.status.success() {
        return Err(format!("fincore failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().map_err(|e| format!("fincore's answer: {e}"))
}
