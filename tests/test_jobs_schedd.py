"""Why a node is idle, worked out from real ClassAds (classad2 parses and evaluates them) the way
``condor_q -better-analyze`` does; the same analysis runs against the real pool in test_pool_real.py."""
from __future__ import annotations

import pytest

classad2 = pytest.importorskip("classad2")

from cloudsubmit.jobs.schedd import split_and, why_idle  # noqa: E402

# Shaped like the slot ads of ../shared/htcondor's pool (condor_status -l), trimmed.
SLOT = """[ Name = "slot1@{name}@vm"; OpSys = "LINUX"; Arch = "X86_64"; FileSystemDomain = "{domain}";
  UidDomain = "{domain}"; Cpus = {cpus}; TotalSlotCpus = 2; Memory = {memory}; TotalSlotMemory = 8192;
  Disk = 1000000; TotalSlotDisk = 1000000; HasFileTransfer = true; IsCloud = {cloud};
  Start = {start}; Requirements = START ]"""
# What condor_submit makes of a cloud render's submit file (Requirements wrapped and extended).
JOB = """[ DAGNodeName = "render_0001"; CloudSubmitPlace = "cloud"; MayUseAWS = {aws}; RequestCpus = {cpus};
  RequestMemory = 1024; RequestDisk = 1; FileSystemDomain = "intra.studio.example";
  Requirements = (TARGET.OpSys == "LINUX" && TARGET.FileSystemDomain == "{want}") && (TARGET.Arch == "X86_64") &&
    (TARGET.Disk >= RequestDisk) && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus) &&
    ((TARGET.FileSystemDomain == MY.FileSystemDomain) || (TARGET.HasFileTransfer)) ]"""


def _slots(cloud_cpus: int = 2, cloud_memory: int = 8192):
    return [classad2.parseOne(SLOT.format(name="intra", domain="intra.studio.example", cpus=2, memory=8192,
                                          cloud="false", start="true")),
            classad2.parseOne(SLOT.format(name="cloud", domain="aws.studio.example", cpus=cloud_cpus,
                                          memory=cloud_memory, cloud="true", start="TARGET.MayUseAWS =?= true"))]


def _job(cpus: int = 1, aws: str = "true", want: str = "aws.studio.example"):
    return classad2.parseOne(JOB.format(cpus=cpus, aws=aws, want=want))


def test_split_and_keeps_strings_and_groups():
    assert split_and('(a == "x && y" && (b || c)) && d') == ['a == "x && y"', "b || c", "d"]
    assert split_and("(a) && (b)") == ["a", "b"] and split_and("a || b") == ["a || b"]


def test_each_reason_names_what_no_slot_gives():
    assert why_idle(_job(cpus=4), _slots()) == "no cloud slot has 4 CPUs (largest: 2)"
    assert why_idle(_job(want="gcp.example"), _slots()) == 'no machine matches TARGET.FileSystemDomain == "gcp.example"'
    assert why_idle(_job(aws="false"), _slots()).startswith("cloud slots start only jobs with TARGET.MayUseAWS")
    assert why_idle(_job(), _slots()) == "waiting for a free slot (1 machines match)"
    assert why_idle(_job(), []) == "the pool has no machines (condor_status lists none)"


def test_a_busy_slot_is_waiting_not_too_small():
    busy = _slots(cloud_cpus=0, cloud_memory=0)  # every core and MB claimed by running renders
    assert why_idle(_job(cpus=2), busy) == "waiting for a free slot: the 1 machines that fit are busy"
    assert why_idle(_job(cpus=4), busy) == "no cloud slot has 4 CPUs (largest: 2)"
