//! The servers a task starts, each in a process group of its own, stopped with everything it
//! started: when the task's handle is dropped (the task passed or failed), and when the task is
//! interrupted (SIGINT, SIGTERM, SIGHUP).
//!
//! # Design
//!
//! Killing a server's process is not enough: nginx's master leaves its workers, Apache its
//! children, orphaned to init and still listening. So each server starts as the leader of a new
//! process group and the whole group gets SIGTERM, then SIGKILL after a grace period. A group of
//! its own also keeps the terminal's Ctrl-C from reaching the servers before the task can stop
//! them in order; the task itself catches the signal (a thread with a small tokio runtime), stops
//! every group still registered, and exits with the shell's status for the signal.

use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// The process groups of the servers running now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How long a group gets to stop after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// A server started in a process group of its own; the group is stopped on drop.
pub(crate) struct Server {
    child: Child,
    group: i32,
}

impl Server {
    /// Starts `command` as the leader of a new process group.
    pub(crate) fn spawn(command: &mut Command, what: &str) -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let child = command.process_group(0).spawn().map_err(|e| format!("cannot start {what}: {e}"))?;
        let group = i32::try_from(child.id()).map_err(|_| format!("{what}: process id out of range"))?;
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(group);
        Ok(Self { child, group })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_group(self.group);
        let _ = self.child.wait();
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).retain(|g| *g != self.group);
    }
}

/// SIGTERM to every process of `group`, SIGKILL to what is left after [`GRACE`].
fn stop_group(group: i32) {
    let pid = Pid::from_raw(group);
    if killpg(pid, Signal::SIGTERM).is_err() {
        return; // the group is gone already
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if members(group).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(pid, Signal::SIGKILL);
}

/// The processes (zombies left out) whose process group is `group`, read from `/proc`.
pub(crate) fn members(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid pgrp ...`: comm may hold spaces, so read after its ')'.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return false };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.first() != Some(&"Z") && fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(group)
        })
        .collect()
}

/// Stops every server still running: what an interrupted task does before it exits.
pub(crate) fn stop_all() {
    let groups = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|e| e.into_inner()));
    for group in groups {
        stop_group(group);
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP for the rest of the task: each stops every server still
/// running, then exits with 128 + the signal's number, as a shell reports it.
pub(crate) fn stop_all_on_signals() {
    let spawned = std::thread::Builder::new().name("xtask-signals".into()).spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
        runtime.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let kinds = [(SignalKind::interrupt(), 2), (SignalKind::terminate(), 15), (SignalKind::hangup(), 1)];
            let mut streams = Vec::new();
            for (kind, number) in kinds {
                match signal(kind) {
                    Ok(stream) => streams.push((stream, number)),
                    Err(err) => eprintln!("xtask: cannot catch signal {number}: {err}"),
                }
            }
            let waits = streams.iter_mut().map(|(stream, number)| {
                let number = *number;
                Box::pin(async move {
                    stream.recv().await;
                    number
                })
            });
            let (number, _, _) = futures::future::select_all(waits).await;
            eprintln!("\nxtask: interrupted (signal {number}): stopping the servers it started");
            stop_all();
            std::process::exit(128 + number);
        });
    });
    if let Err(err) = spawned {
        eprintln!("xtask: cannot watch for signals: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose leader starts two children of its own (as nginx starts its workers).
    fn forking_server() -> Server {
        Server::spawn(Command::new("sh").args(["-c", "sleep 300 & sleep 300 & wait"]), "sh").unwrap()
    }

    fn wait_for(members_wanted: usize, group: i32) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let count = members(group).len();
            if count == members_wanted || Instant::now() > deadline {
                return count;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // One test: `stop_all` stops every registered group, so a second test running beside it
    // would have its servers stopped under it.
    #[test]
    fn no_child_outlives_a_server_dropped_or_interrupted() {
        let server = forking_server();
        let group = server.group;
        assert_eq!(wait_for(3, group), 3, "the leader and its two children run");
        drop(server);
        assert_eq!(members(group), Vec::<i32>::new(), "no child outlives the dropped server");
        assert!(!RUNNING.lock().unwrap().contains(&group));

        let first = forking_server();
        let second = forking_server();
        let groups = [first.group, second.group];
        for group in groups {
            assert_eq!(wait_for(3, group), 3);
        }
        // What the signal thread does; the handles are forgotten, as a task that exits is.
        stop_all();
        for group in groups {
            assert_eq!(members(group), Vec::<i32>::new(), "group {group} stopped on interruption");
        }
        std::mem::forget(first);
        std::mem::forget(second);
    }
}
