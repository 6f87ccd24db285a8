"""--ray against the single-machine path, through the real ``lic`` command.

  encode  lic encode VAL -o ... with --workers 1, --workers 2 and --ray --workers 2 (a local
          2-CPU Ray runtime): wall times, and whether the three output trees are byte-identical.
  kill    lic encode VAL --ray --workers 2 while one Ray worker that is coding a file is killed
          (SIGKILL); every .lic that appears is checked to be complete while the run goes on;
          the finished tree is compared with the single-process one (a re-run completes it if
          Ray gave up on a task).
  eval    lic eval KODAK --ray --workers 2 and lic eval KODAK, run at the same time: wall times, and
          whether the results files are equal with the timing fields (times, peak memory) taken out.

Usage: python benchmarks/ray_vs_local.py encode kill eval [--val DIR] [--kodak DIR] [--work DIR]
Writes benchmarks/results/ray-vs-local.json (merged with the parts already there).
Every timing records the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lic.format.container import read_image_stream

TIMING_KEYS = ("encoding_time", "decoding_time", "peak_memory_mb")
RESULTS = Path(__file__).parent / "results" / "ray-vs-local.json"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start(*args: str) -> tuple:
    """Starts ``lic ARGS`` as a process; :func:`finish` waits for it."""
    process = subprocess.Popen([sys.executable, "-m", "lic", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    return process, args, load(), time.perf_counter()


def finish(started: tuple, watch=None) -> dict:  # noqa: ANN001
    """Waits for a started ``lic``, polling ``watch(process)`` meanwhile; its command, time, status, output tail."""
    process, args, before, t0 = started
    extra = {}
    while process.poll() is None:
        if watch:
            extra.update(watch(process) or {})
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    return {"command": "lic " + " ".join(args), "seconds": round(time.perf_counter() - t0, 1), "rc": process.returncode,
            "stdout_tail": stdout.strip().splitlines()[-1:], "stderr_last": stderr.strip().splitlines()[-2:],
            "load_before": before, "load_after": load(), **extra}


def lic(*args: str, watch=None) -> dict:  # noqa: ANN001
    """Runs ``lic ARGS`` to the end (see :func:`finish`)."""
    return finish(start(*args), watch)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.lic"))}


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(
                    int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def part_encode(val: Path, work: Path) -> dict:
    runs = {}
    for name in ("workers1", "workers2", "ray2"):
        shutil.rmtree(work / f"val-{name}", ignore_errors=True)
    for name, extra in (("workers1", ["--workers", "1"]), ("workers2", ["--workers", "2"]),
                        ("ray2", ["--ray", "--workers", "2"])):
        runs[name] = lic("encode", str(val), "-o", str(work / f"val-{name}"), *extra)
    reference = tree(work / "val-workers1")
    same = {name: tree(work / f"val-{name}") == reference for name in runs}
    return {"files": len(reference), "runs": runs, "identical_to_workers1": same}


def part_kill(val: Path, work: Path) -> dict:
    out = work / "val-killed"
    shutil.rmtree(out, ignore_errors=True)
    state = {"killed_pid": None, "killed_at_outputs": None, "checks": 0, "partial_outputs_seen": 0}

    def watch(process: subprocess.Popen) -> dict:
        outputs = list(out.rglob("*.lic")) if out.exists() else []
        for path in outputs:
            state["checks"] += 1
            try:
                read_image_stream(path.read_bytes())
            except Exception:  # noqa: BLE001 - counted: the claim is that this never happens
                state["partial_outputs_seen"] += 1
        if state["killed_pid"] is None and len(outputs) >= 10:
            busy = [p for p in descendants(process.pid) if title(p).startswith("ray::process_in_worker")]
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                state.update(killed_pid=busy[0], killed_at_outputs=len(outputs))
        return dict(state)

    run = lic("encode", str(val), "-o", str(out), "--ray", "--workers", "2", watch=watch)
    result = {"run": run}
    if run["rc"] != 0:
        result["rerun"] = lic("encode", str(val), "-o", str(out), "--ray", "--workers", "2")
    result["identical_to_workers1"] = tree(out) == tree(work / "val-workers1")
    return result


def part_eval(kodak: Path, work: Path) -> dict:
    # Both at once: on a machine shared with other work, one after the other would take twice as long.
    started = {"ray2": start("eval", str(kodak), "-o", str(work / "kodak-ray2.json"), "--force", "--ray", "--workers",
                             "2"),
               "local": start("eval", str(kodak), "-o", str(work / "kodak-local.json"), "--force")}
    runs = {name: finish(process) for name, process in started.items()}

    def content(name: str) -> dict:
        body = json.loads((work / name).read_text())
        timing = {key: body["results"].pop(key) for key in TIMING_KEYS}
        return body, timing

    ray_body, ray_timing = content("kodak-ray2.json")
    local_body, local_timing = content("kodak-local.json")
    return {"runs": runs, "content_equal_without_timing": ray_body == local_body,
            "timing": {"ray2": ray_timing, "local": local_timing}, "meta": local_body["meta"],
            "bpp": local_body["results"]["bpp"], "psnr-rgb": local_body["results"]["psnr-rgb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=["encode", "kill", "eval"])
    parser.add_argument("--val", type=Path, default=Path("../shared/datasets/val"))
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/lic-ray-vs-local"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for part in args.parts:
        if part == "encode":
            results["encode"] = part_encode(args.val, args.work)
        elif part == "kill":
            results["kill"] = part_kill(args.val, args.work)
        else:
            results["eval"] = part_eval(args.kodak, args.work)
        results["machine"] = f"{os.cpu_count()} cores; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results[part], indent=2)[:3000], flush=True)


if __name__ == "__main__":
    main()
