"""What DAG nodes run: ``cloudsubmit stage upload|render|download|post BUNDLE --node NAME``."""
