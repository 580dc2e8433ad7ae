"""What the CLI benchmarks (bench_lightpeft_vs_lora.py, bench_memory.py, bench_main_job_vs_hf.py)
share: a timed child process, the machine's load line and the end of a run's working folder."""
import os
import pathlib
import shutil
import subprocess
import sys
import time


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_timed(program: str, cmd, env, log, cwd=None) -> tuple:
    """Runs cmd with its output appended to LOG (after the command line); returns (wall seconds, peak
    RSS bytes of that process, os.wait4's ru_maxrss). A failure ends the benchmark, naming the log."""
    t0 = time.perf_counter()
    with open(log, "a") as out:
        out.write("+ " + " ".join(map(str, cmd)) + "\n")
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{program}: {' '.join(map(str, cmd))} failed; see {log}")
    return wall, usage.ru_maxrss * 1024


def keep_or_remove(work: pathlib.Path, keep: bool) -> None:
    """Says where the runs are when asked to keep them (--keep); otherwise deletes them."""
    if keep:
        print(f"\nruns kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
