#!/usr/bin/python3
"""The GitHub Actions workflows, checked offline: what `make lint` runs.

  scripts/check-workflows.py .github/workflows/*.yml

Each file must parse as YAML (PyYAML, Debian's python3-yaml) into a workflow:
a trigger (`on`), jobs that each run on a runner (`runs-on`) or call a
reusable workflow (`uses`), steps that each either run a command or use an
action pinned to a version (`uses: owner/name@ref`). Every make target a step
runs must exist in the Makefile, and every file of the repository it names
(.ci/..., scripts/..., tests/...) must exist. What this cannot check is
GitHub's own execution of them.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def targets():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, re.M))


def check(path, make_targets):
    problems = []
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        return [f"{path}: not a mapping"]
    # YAML 1.1 reads the key `on` as true.
    if "on" not in doc and True not in doc:
        problems.append(f"{path}: no trigger (on:)")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return problems + [f"{path}: no jobs"]
    for name, job in jobs.items():
        where = f"{path}: job {name}"
        if not isinstance(job, dict) or ("runs-on" not in job) == ("uses" not in job):
            problems.append(f"{where}: needs exactly one of runs-on and uses")
            continue
        for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
            if need not in jobs:
                problems.append(f"{where}: needs unknown job {need}")
        for i, step in enumerate(job.get("steps", [])):
            here = f"{where}, step {i + 1}"
            if not isinstance(step, dict) or ("run" in step) == ("uses" in step):
                problems.append(f"{here}: needs exactly one of run and uses")
                continue
            if "uses" in step and not re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]):
                problems.append(f"{here}: action {step['uses']} is not owner/name@version")
            run = step.get("run", "")
            for target in re.findall(r"(?m)(?:^|&&|;|\|\|)\s*make\s+([a-z][\w-]*)", run):
                if target not in make_targets:
                    problems.append(f"{here}: make {target}: no such target")
            for ref in re.findall(r"(?<![\w/])((?:\.ci|scripts|tests)/[\w./-]*\w)", run):
                if not os.path.exists(os.path.join(ROOT, ref)):
                    problems.append(f"{here}: {ref} does not exist")
    return problems


def main(paths):
    if not paths:
        sys.exit("check-workflows: no workflow given")
    make_targets = targets()
    problems = [p for path in paths for p in check(path, make_targets)]
    for p in problems:
        print(f"check-workflows: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-workflows: {len(paths)} workflows parse and name what exists")


if __name__ == "__main__":
    main(sys.argv[1:])
