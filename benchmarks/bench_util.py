"""What the CLI benchmarks (bench_lightpeft_vs_lora.py, bench_memory.py, bench_main_job_vs_hf.py)
share: the machine's load line and the end of a run's working folder."""
import pathlib
import shutil
import subprocess


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def keep_or_remove(work: pathlib.Path, keep: bool) -> None:
    """Says where the runs are when asked to keep them (--keep); otherwise deletes them."""
    if keep:
        print(f"\nruns kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
