"""Jobs: a scene's render as an HTCondor DAG.

``plan.make_plan`` (pure data) -> ``bundle.write_bundle`` (job.dag, one .sub per stage, job.json)
-> ``submit.submit_bundle`` (htcondor2, condor_submit_dag, or ``local_runner``); ``status.job_status``
reads progress back. ``condor`` is the one module that turns values into submit/DAG text."""
