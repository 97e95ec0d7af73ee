"""A real S3 endpoint for tests: moto's server on a loopback port, driven by the real boto3 client.

Use the ``s3_server`` fixture (session-scoped: one server for the run, stopped at the end) and
``s3_bucket`` (a fresh bucket per test). Tests point cloudsubmit at it exactly as a studio points
at MinIO: ``AWS_ENDPOINT_URL_S3`` plus dummy credentials in the environment, never in a file."""
from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from typing import Dict

import pytest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str

    @property
    def env(self) -> Dict[str, str]:
        """Environment for subprocesses (and monkeypatch) that makes boto3 talk to this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(endpoint=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch) -> str:
    """A new empty bucket; the test process's environment points boto3 at the server."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = "cs-" + uuid.uuid4().hex[:12]
    s3_server.client().create_bucket(Bucket=name)
    return name
