from __future__ import annotations


def test_moto_server_speaks_s3_over_loopback(s3_server, s3_bucket):
    c = s3_server.client()
    c.put_object(Bucket=s3_bucket, Key="a/b.txt", Body=b"hello")
    assert c.get_object(Bucket=s3_bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert s3_server.endpoint.startswith("http://127.0.0.1:")
