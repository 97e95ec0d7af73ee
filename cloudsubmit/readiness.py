"""Can the stages placed on cloud nodes run there at all? Checked before anything is written.

A cloud node has none of the workstation's own paths: not the interpreter of the venv cloudsubmit
runs from here (the default launcher, sent with ``transfer_executable = false``), not the embedded
``file://`` store in the user's data folder (the default store). A job depending on either would
sit on the farm and fail on every node, so ``submit`` refuses it and says what to configure
(``jobs.cloud_check: warn`` submits anyway with a warning, ``ignore`` skips the check: a pool whose
"cloud" slots share this machine's disks, as the test pool does)."""
from __future__ import annotations

import sys
from typing import Any, List, Optional, Sequence

from .errors import ConfigError

def cloud_problems(cloud_stages: Sequence[str], config: Any, store_url: Optional[str] = None) -> List[str]:
    """One sentence per workstation-only path a cloud stage would need, naming the setting to fix."""
    from .store import store_url as chosen_store

    if not cloud_stages:
        return []
    stages = "/".join(sorted(set(cloud_stages)))
    problems = []
    if not list(config["jobs"]["launcher"]):
        problems.append(f"{stages} runs on cloud nodes with this workstation's own interpreter "
                        f"({sys.executable}), which they do not have: set jobs.launcher to the program that "
                        "runs cloudsubmit there, e.g. [/opt/cloudsubmit/bin/python, -m, cloudsubmit]")
    if not chosen_store(store_url, config):
        problems.append(f"{stages} on cloud nodes reads inputs from the store, but the store is the embedded "
                        "folder in this user's data directory, which no cloud node sees: set store.url "
                        "(s3://bucket/prefix, or file:// on a share the cloud nodes mount)")
    return problems


def check_cloud_ready(cloud_stages: Sequence[str], config: Any, store_url: Optional[str] = None,
                      dry_run: bool = False) -> List[str]:
    """Warnings to show; raises ConfigError (exit 2) when ``jobs.cloud_check`` is ``refuse`` and
    this is a real submit (a dry run only warns: nothing reaches the farm)."""
    mode = str(config["jobs"].get("cloud_check", "refuse"))  # one of refuse | warn | ignore (_rules.yaml)
    problems = [] if mode == "ignore" else cloud_problems(cloud_stages, config, store_url)
    if problems and mode == "refuse" and not dry_run:
        more = f" (and {len(problems) - 1} more: run `cloudsubmit doctor`)" if len(problems) > 1 else ""
        raise ConfigError(f"this job cannot run on cloud nodes: {problems[0]}{more}; or place the stage "
                          "locally (--place render=local), or set jobs.cloud_check: warn")
    return [f"cloud nodes: {p}" for p in problems]
