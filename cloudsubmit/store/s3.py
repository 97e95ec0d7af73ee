"""S3 (and MinIO, Ceph, Wasabi, moto) as the store, through boto3 and s3transfer.

Endpoint, profile and region come from config (``store.s3``); an empty endpoint lets boto3 read
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` itself. Credentials come only from the normal AWS
chain and are never written anywhere. Every botocore exception is translated here into a
one-line :class:`StoreError`: a missing bucket or refused credentials are bad input (exit 2), an
unreachable endpoint is a failed operation (exit 1). Throttling, 5xx and dropped, refused or
timed-out connections are also marked transient, so after botocore's own per-request retries the
transfer runner tries the whole file again; permanent errors stop the run at once."""
from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from ..errors import EXIT_BAD_INPUT, EXIT_FAILED, StoreError
from .backend import Backend, BytesCallback
from .transfer import mark_transient

_MB = 1024 * 1024
CHECKSUM = "CRC32"  # S3 additional checksum: the server rejects a body that differs from what was sent
_BAD_INPUT_CODES = {
    "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
    "AllAccessDisabled", "InvalidBucketName", "PermanentRedirect", "AuthorizationHeaderMalformed",
}
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}
#: worth another try a moment later: throttling and the server's own trouble (any 5xx as well)
_TRANSIENT_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestThrottled", "RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500", "502", "504",
}


def _transient_response(code: str, response: Mapping[str, Any]) -> bool:
    """Throttled, or the server failed (5xx): the same request may well succeed a moment later.
    botocore has retried already; this lets the transfer runner try the whole file again."""
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _TRANSIENT_CODES or status == 429 or status >= 500


def _transient_connection(exc: BaseException) -> bool:
    """Refused, reset or timed-out connections and bodies cut short are; a bad certificate or a
    bad parameter is not."""
    from botocore.exceptions import ConnectionError as BotoConnectionError, HTTPClientError, IncompleteReadError, SSLError

    return isinstance(exc, (BotoConnectionError, HTTPClientError, IncompleteReadError)) and not isinstance(exc, SSLError)


def _setting(cfg: Mapping[str, Any], key: str, default: float, minimum: float) -> float:
    """A number from ``store.s3``, refused in one line when it is not one (or too small)."""
    value = cfg.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise StoreError(f"store.s3.{key}: expected a number >= {minimum:g}", exit_code=EXIT_BAD_INPUT)
    return float(value)


def parse_s3_url(url: str) -> Tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")``."""
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"store {url}: no bucket name", exit_code=EXIT_BAD_INPUT)
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


class S3Backend(Backend):
    def __init__(self, url: str, s3cfg: Optional[Mapping[str, Any]] = None, threads: int = 8) -> None:
        self.url = url.rstrip("/")
        self.bucket, self.prefix = parse_s3_url(url)
        self.cfg = dict(s3cfg or {})
        self.threads = max(1, int(threads))
        self._client = None
        self._tm = None
        self._lock = threading.Lock()
        self.attempts = int(_setting(self.cfg, "max_attempts", 3, 1))
        self.connect_timeout = _setting(self.cfg, "connect_timeout_s", 10, 0.1)
        self.read_timeout = _setting(self.cfg, "read_timeout_s", 30, 0.1)
        self.retry_budget = _setting(self.cfg, "retry_budget_s", 120, 0)

    # --- plumbing ------------------------------------------------------------------------
    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self):
        import boto3
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.session.Session(
                profile_name=self.cfg.get("profile") or None, region_name=self.cfg.get("region") or None
            )
            return session.client(
                "s3",
                endpoint_url=self.cfg.get("endpoint_url") or None,
                config=BotoConfig(  # total_max_attempts counts the first request, as store.s3.max_attempts does
                    retries={"mode": self._retry_mode(), "total_max_attempts": self.attempts},
                    max_pool_connections=self.threads * 2 + 4,
                    connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                ),
            )
        except BotoCoreError as exc:
            raise self.translate(exc, "") from None

    def _retry_mode(self) -> str:
        mode = self.cfg.get("retry_mode") or "adaptive"
        if mode not in ("adaptive", "standard", "legacy"):
            raise StoreError(f"store.s3.retry_mode: expected adaptive or standard, got {mode!r}", exit_code=EXIT_BAD_INPUT)
        return mode

    @property
    def transfer(self):
        """One s3transfer manager shared by every thread: multipart above the threshold."""
        client = self.client
        with self._lock:
            if self._tm is None:
                from s3transfer.manager import TransferConfig, TransferManager

                readers, sending = self.memory_parts
                cfg = TransferConfig(
                    multipart_threshold=int(self.cfg.get("multipart_threshold_mb") or 64) * _MB,
                    multipart_chunksize=int(self.cfg.get("multipart_chunksize_mb") or 16) * _MB,
                    max_request_concurrency=self.threads,
                    max_submission_concurrency=readers,
                    max_in_memory_upload_chunks=sending,
                    num_download_attempts=self.attempts,
                )
                self._tm = TransferManager(client, cfg)
            return self._tm

    @property
    def memory_parts(self) -> Tuple[int, int]:
        """``(readers, sending)``: multipart parts held in memory at once, for every upload of
        this store together, so upload memory is bounded by ``store.s3.upload_memory_mb``
        whatever the blob sizes. s3transfer reads a part on a submission thread *before* it waits
        for a free in-memory slot, so each submission thread can hold one part beyond the parts
        being sent: the setting's parts are split between the two (at least one each), one part
        kept back (from three up) for the requests' own buffers and copies (measured: 2-5 MB
        beyond 64 MB of parts)."""
        chunk = int(self.cfg.get("multipart_chunksize_mb") or 16)
        parts = max(2, int(self.cfg.get("upload_memory_mb") or 64) // chunk)
        held = parts - 1 if parts >= 3 else parts
        readers = max(1, held // 3)
        return readers, held - readers

    @property
    def threshold(self) -> int:
        return int(self.cfg.get("multipart_threshold_mb") or 64) * _MB

    def _key(self, key: str) -> str:
        return self.prefix + key

    def translate(self, exc: BaseException, key: str) -> StoreError:
        """One line for any botocore failure, with the exit code the CLI should use."""
        from botocore.exceptions import (ClientError, ConnectTimeoutError, NoCredentialsError, ParamValidationError,
                                         PartialCredentialsError, ProfileNotFound, ReadTimeoutError)
        from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError

        where = f"{self.url}/{key}" if key else self.url
        if isinstance(exc, RetriesExceededError) and exc.last_exception is not None:
            return mark_transient(self.translate(exc.last_exception, key), self.retry_budget)  # s3transfer's own retries
        if isinstance(exc, S3UploadFailedError):  # s3transfer wraps the ClientError of a part in text
            text = " ".join(str(exc).split())
            bad = any(code in text for code in _CREDENTIAL_CODES | {"NoSuchBucket", "InvalidBucketName"})
            error = StoreError(f"store {where}: {text}", exit_code=EXIT_BAD_INPUT if bad else EXIT_FAILED)
            return error if bad else mark_transient(error, self.retry_budget)
        if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
            what = "did not answer" if isinstance(exc, ReadTimeoutError) else "did not accept a connection"
            limit, setting = ((self.read_timeout, "read_timeout_s") if isinstance(exc, ReadTimeoutError)
                              else (self.connect_timeout, "connect_timeout_s"))
            return mark_transient(StoreError(
                f"store {where}: endpoint {getattr(exc, 'kwargs', {}).get('endpoint_url') or self._endpoint()} {what} "
                f"within {limit:g} s (store.s3.{setting}; {self.attempts} attempts per request)"), self.retry_budget)
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return StoreError(f"store {self.url}: no AWS credentials found (configure a profile, the environment or an instance role)", exit_code=EXIT_BAD_INPUT)
        if isinstance(exc, ProfileNotFound):
            return StoreError(f"store {self.url}: AWS profile {self.cfg.get('profile')!r} not found", exit_code=EXIT_BAD_INPUT)
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code == "NoSuchBucket":
                return StoreError(f"store {self.url}: bucket {self.bucket} does not exist", exit_code=EXIT_BAD_INPUT)
            if code in _CREDENTIAL_CODES:
                return StoreError(f"store {where}: access denied ({code}); check the AWS credentials and bucket policy", exit_code=EXIT_BAD_INPUT)
            exit_code = EXIT_BAD_INPUT if code in _BAD_INPUT_CODES else EXIT_FAILED
            error = StoreError(f"store {where}: {code} {err.get('Message', '')}".rstrip(), exit_code=exit_code)
            return mark_transient(error, self.retry_budget) if _transient_response(code, exc.response) else error
        if isinstance(exc, ParamValidationError):  # e.g. a bucket name S3 cannot have; botocore's reason is on line 2
            return StoreError(f"store {self.url}: {' '.join(str(exc).split())}", exit_code=EXIT_BAD_INPUT)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        error = StoreError(f"store {where}: {text}", exit_code=EXIT_FAILED)
        return mark_transient(error, self.retry_budget) if _transient_connection(exc) else error

    def _endpoint(self) -> str:
        client = self._client
        return getattr(getattr(client, "meta", None), "endpoint_url", "") or "the S3 endpoint"

    def _call(self, key: str, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self.translate(exc, key) from None

    # --- the Backend interface -----------------------------------------------------------
    def put_file(self, key: str, path: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        with open(path, "rb") as src:
            self.put_fileobj(key, src, size=os.fstat(src.fileno()).st_size, on_bytes=on_bytes)

    def put_fileobj(self, key: str, fileobj, *, size: Optional[int] = None,
                    on_bytes: Optional[BytesCallback] = None) -> None:
        """Below the multipart threshold: one PutObject that streams the body in blocks (the
        client rewinds it for its checksum and signature; a blob is never held whole in memory).
        Above it: a multipart upload through s3transfer, which reads parts in order (at most
        ``store.s3.upload_memory_mb`` of them in memory) and completes the upload only after the
        last read, so a reader that raises leaves nothing behind (the multipart upload is aborted)."""
        if size is not None and size < self.threshold:
            seekable = getattr(fileobj, "seekable", None)
            body = fileobj if seekable is not None and seekable() else fileobj.read()
            self._call(key, self.client.put_object, Key=self._key(key), Body=body, ContentLength=size,
                       ChecksumAlgorithm=CHECKSUM)
            if on_bytes:
                on_bytes(size)
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from s3transfer.exceptions import S3UploadFailedError

        try:
            self.transfer.upload(
                _Unseekable(fileobj), self.bucket, self._key(key),
                extra_args={"ChecksumAlgorithm": CHECKSUM}, subscribers=[_Subscriber(on_bytes, size)],
            ).result()
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self.translate(exc, key) from None

    def put_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        from botocore.exceptions import ClientError

        kwargs = {"Key": self._key(key), "Body": data, "ChecksumAlgorithm": CHECKSUM}
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        try:
            self.client.put_object(Bucket=self.bucket, **kwargs)
            return True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if if_absent and code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            if if_absent and code == "NotImplemented":  # an S3-compatible store without conditional writes
                return self._put_if_absent_unconditional(key, data)
            raise self.translate(exc, key) from None
        except Exception as exc:  # BotoCoreError
            raise self.translate(exc, key) from None

    def _put_if_absent_unconditional(self, key: str, data: bytes) -> bool:
        """Best effort for stores that reject ``If-None-Match``: check, then write. Index shard
        keys carry random bits, so the window only matters for keys chosen by hand."""
        if self.size(key) is not None:
            return False
        self._call(key, self.client.put_object, Key=self._key(key), Body=data, ChecksumAlgorithm=CHECKSUM)
        return True

    def get_file(self, key: str, dest: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        from s3transfer.exceptions import RetriesExceededError

        folder = os.path.dirname(os.path.abspath(dest))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                self.transfer.download(self.bucket, self._key(key), out, subscribers=[_Subscriber(on_bytes)]).result()
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except (BotoCoreError, ClientError, RetriesExceededError) as exc:
            _unlink(tmp)
            if isinstance(exc, ClientError) and self.size(key) is None:  # not after a timeout: that would wait again
                raise StoreError(f"store {self.url}: no object {key}") from None
            raise self.translate(exc, key) from None
        except BaseException:
            _unlink(tmp)
            raise

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoreError(f"store {self.url}: no object {key}") from None
            raise self.translate(exc, key) from None
        except Exception as exc:
            raise self.translate(exc, key) from None

    @contextlib.contextmanager
    def read_range(self, key: str, offset: int, length: int) -> Iterator["_RangeBody"]:
        """One ranged GetObject, its body streamed (never held whole); a dropped or timed-out
        body is a transient error like any other request's."""
        from botocore.exceptions import ClientError

        if length <= 0:
            yield _RangeBody(None, self, key)
            return
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key),
                                          Range=f"bytes={offset}-{offset + length - 1}")["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoreError(f"store {self.url}: no object {key}") from None
            raise self.translate(exc, key) from None
        except Exception as exc:  # BotoCoreError: refused, reset, timed out
            raise self.translate(exc, key) from None
        try:
            yield _RangeBody(body, self, key)
        finally:
            body.close()

    def modified(self, key: str) -> Optional[float]:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["LastModified"].timestamp()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self.translate(exc, key) from None
        except Exception as exc:
            raise self.translate(exc, key) from None

    def size(self, key: str) -> Optional[int]:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchKey", "NotFound"):
                if self._bucket_missing():
                    raise StoreError(f"store {self.url}: bucket {self.bucket} does not exist", exit_code=EXIT_BAD_INPUT) from None
                return None
            raise self.translate(exc, key) from None
        except Exception as exc:
            raise self.translate(exc, key) from None

    def _bucket_missing(self) -> bool:
        """HEAD answers a bare 404 for a missing bucket too; tell the two apart once."""
        if getattr(self, "_bucket_ok", False):
            return False
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchBucket", "NotFound")
        self._bucket_ok = True
        return False

    def list(self, prefix: str) -> Iterator[Tuple[str, int]]:
        from botocore.exceptions import BotoCoreError, ClientError

        out = []
        strip = len(self.prefix)
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix), PaginationConfig={"PageSize": 1000}
            ):
                for obj in page.get("Contents", ()):
                    out.append((obj["Key"][strip:], int(obj["Size"])))
        except (BotoCoreError, ClientError) as exc:
            raise self.translate(exc, prefix) from None
        out.sort()
        return iter(out)

    def list_hex(self, prefix: str, threads: int = 8) -> Iterator[Tuple[str, int]]:
        """The 16 hex sub-prefixes listed at once: pages are fetched one after another within a
        listing, so one listing of ``cas/`` grows in wall time with the store."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(16, threads))) as pool:
            parts = list(pool.map(lambda digit: list(self.list(prefix + digit)), "0123456789abcdef"))
        return iter([item for part in parts for item in part])

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Key=self._key(key))

    def delete_many(self, keys) -> None:
        keys = list(keys)
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[i:i + 1000]]
            out = self._call(keys[i], self.client.delete_objects, Delete={"Objects": batch, "Quiet": True})
            errors = out.get("Errors") or []
            if errors:
                first = errors[0]
                raise StoreError(f"store {self.url}/{first.get('Key', '')}: cannot delete ({first.get('Code', '')})")

    def leftovers(self, older_than: float) -> List[Tuple[str, int]]:
        """Multipart uploads under this store's prefix begun more than ``older_than`` seconds
        ago and never completed (invisible, but billed): ``<key> <upload id>``."""
        import datetime

        cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=older_than)
        found = []
        kwargs = {"Prefix": self.prefix}
        while True:
            page = self._call("", self.client.list_multipart_uploads, **kwargs)
            for up in page.get("Uploads", ()):
                if up["Initiated"] <= cutoff:
                    found.append((f"{up['Key'][len(self.prefix):]} {up['UploadId']}", 0))
            if not page.get("IsTruncated"):
                return sorted(found)
            kwargs.update(KeyMarker=page.get("NextKeyMarker", ""), UploadIdMarker=page.get("NextUploadIdMarker", ""))

    def remove_leftover(self, name: str) -> None:
        key, _, upload_id = name.rpartition(" ")
        self._call(key, self.client.abort_multipart_upload, Key=self._key(key), UploadId=upload_id)

    def close(self) -> None:
        if self._tm is not None:
            self._tm.shutdown()
            self._tm = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _RangeBody:
    """A ranged GET's body: reads translated into the store's one-line (transient) errors."""

    def __init__(self, body, backend: S3Backend, key: str) -> None:
        self.body, self.backend, self.key = body, backend, key

    def read(self, amount: int = -1) -> bytes:
        if self.body is None:
            return b""
        try:
            return self.body.read(amount if amount and amount > 0 else None)
        except Exception as exc:  # BotoCoreError mid-body: a reset or a timeout
            raise self.backend.translate(exc, self.key) from None


class _Unseekable:
    """Hides ``seek``/``tell`` so s3transfer reads the stream once, in order, and completes a
    multipart upload only after the final (empty) read."""

    def __init__(self, raw) -> None:
        self._raw = raw

    def read(self, amount: int = -1) -> bytes:
        return self._raw.read(amount)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class _Subscriber:
    """What a transfer tells us and we tell it: bytes as they move (``on_bytes``), and the
    stream's size when an upload is queued, as the AWS CLI does for streams. Without the size, a
    non-seekable upload reads ``multipart_threshold`` bytes ahead per upload to decide whether to
    split, then copies each part out of that buffer."""

    def __init__(self, on_bytes: Optional[BytesCallback] = None, size: Optional[int] = None) -> None:
        self.on_bytes, self.size = on_bytes, size

    def on_queued(self, future=None, **kwargs) -> None:
        if future is not None and self.size is not None:
            future.meta.provide_transfer_size(self.size)

    def on_progress(self, future=None, bytes_transferred: int = 0, **kwargs) -> None:
        if self.on_bytes and bytes_transferred > 0:
            self.on_bytes(bytes_transferred)

    def on_done(self, **kwargs) -> None:
        pass
