"""Run every benchmark in turn and print each table.

Builds/installs the peers first (bench/peers.py, idempotent), then speed,
accuracy, long_audio, and the soak/server benches when they exist
(bench/soak.py, bench/server.py). Each script writes bench/results/<name>.json.

    python bench/run_all.py [--quick] [--only speed,accuracy]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import common

SCRIPTS = ("speed", "accuracy", "long_audio", "soak", "server", "realtime")
QUICK_ARGS = {"speed": ["--quick"], "accuracy": ["--quick"],
              "long_audio": ["--loops", "1", "--models", "tiny.en"],
              "realtime": ["--models", "tiny.en", "--rounds", "1", "--layouts", "1x2"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="each script's short development variant")
    parser.add_argument("--only", default=",".join(SCRIPTS))
    args = parser.parse_args()
    subprocess.run([sys.executable, str(common.BENCH / "peers.py")], check=True)
    load = common.load_average()
    note = "  (above 0.3: each measured run still waits for idle cores)" if load >= 0.3 else ""
    print(f"load average before the run: {load:.2f}{note}")
    failed = []
    for name in [s for s in args.only.split(",") if s]:
        script = common.BENCH / f"{name}.py"
        if not script.is_file():
            print(f"== {name}: {script.name} absent, skipped")
            continue
        extra = QUICK_ARGS.get(name, []) if args.quick else []
        print(f"== {name} {' '.join(extra)}", flush=True)
        started = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script), *extra], check=False).returncode
        print(f"== {name}: exit {rc} after {time.perf_counter() - started:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
