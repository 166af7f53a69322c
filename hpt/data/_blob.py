"""``dataset.source=azure_blob``: files from an Azure Blob Storage container, cached locally.

Credentials, exactly one of (each from the environment, ``${oc.env:VAR}``):

- ``connection_string`` (it names the endpoint itself);
- ``account_name`` + ``account_key``;
- ``sas_token`` (with ``account_name`` or ``account_url``).

``account_url`` overrides the endpoint ``https://<account_name>.blob.core.windows.net`` (for
Azurite or a sovereign cloud). Blobs are named by ``blobs`` (a list) or by a ``prefix``; each is
downloaded as it is (Kaggle's ``.csv.zip`` too) to a temporary name in the cache and renamed into
place, so the cache never holds a half-written file. A blob whose ETag (or Content-MD5) is the one
recorded at its last download is not downloaded again. The cache lives in
``$HPT_DATA_DIR/azure_blob/<hash of endpoint, container, names>/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from omegaconf import DictConfig, OmegaConf

from hpt.data._digest import digest
from hpt.errors import ConfigError, HptError

__all__ = ["AzureBlobSource", "BlobRef", "blob_service", "credential_keys", "upload_files"]

MANIFEST = ".hpt-blobs.json"
_SECRET_FIELDS = ("connection_string", "account_key", "sas_token")
_CHUNK = 4 * 1024 * 1024
Progress = Callable[[str, int, int | None], None]  # (blob name, bytes so far, total)


def _sdk() -> Any:
    try:
        import azure.storage.blob as blob
    except ImportError:
        raise ConfigError(
            "dataset.source",
            "azure_blob needs the Azure SDK; install it with: pip install 'hpt[azure]'",
        ) from None
    return blob


def credential_keys(cfg: Any) -> list[str]:
    """The credential fields set in ``cfg`` (a ``dataset`` node)."""
    return [k for k in _SECRET_FIELDS if cfg.get(k)]


def _refuse_literal_secrets(cfg: Any) -> None:
    """A secret typed into the config would be saved in the run dir: only ``${oc.env:...}``."""
    if not isinstance(cfg, DictConfig):
        return
    raw = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(raw, dict)
    for key in _SECRET_FIELDS:
        value = raw.get(key)
        if isinstance(value, str) and value and "${oc.env:" not in value.replace(" ", ""):
            raise ConfigError(
                f"dataset.{key}",
                "is a secret given as a plain value, which would be saved with the run; export "
                f"it and set dataset.{key}='${{oc.env:YOUR_VAR}}'",
            )


def blob_service(
    *,
    connection_string: str | None = None,
    account_url: str | None = None,
    account_name: str | None = None,
    account_key: str | None = None,
    sas_token: str | None = None,
    key_prefix: str = "dataset.",
) -> Any:
    """A ``BlobServiceClient`` for exactly one kind of credential (ConfigError otherwise)."""
    blob = _sdk()
    # A few quick retries: a transient error costs seconds, a dead endpoint is reported soon
    # (the SDK's default backs off 15 s, then 45 s).
    options = {
        "max_single_get_size": _CHUNK,
        "max_chunk_get_size": _CHUNK,
        "retry_policy": blob.LinearRetry(backoff=1, random_jitter_range=0, retry_total=3),
    }
    given = [
        k
        for k, v in (
            ("connection_string", connection_string),
            ("account_key", account_key),
            ("sas_token", sas_token),
        )
        if v
    ]
    if len(given) != 1:
        raise ConfigError(
            f"{key_prefix}connection_string",
            f"azure_blob needs exactly one credential, got {given or 'none'}: set "
            f"{key_prefix}connection_string, or {key_prefix}account_name + "
            f"{key_prefix}account_key, or {key_prefix}sas_token (each as '${{oc.env:VAR}}')",
        )
    if connection_string:
        try:
            return blob.BlobServiceClient.from_connection_string(connection_string, **options)
        except ValueError as err:
            raise ConfigError(
                f"{key_prefix}connection_string", f"is not a valid connection string ({err})"
            ) from None
    url = account_url or (f"https://{account_name}.blob.core.windows.net" if account_name else None)
    if not url:
        raise ConfigError(
            f"{key_prefix}account_name", "missing; name the storage account (or set account_url)"
        )
    if account_key:
        if not account_name:
            raise ConfigError(
                f"{key_prefix}account_name", "missing; an account key needs its account name"
            )
        credential: Any = {"account_name": account_name, "account_key": account_key}
    else:
        credential = sas_token
    return blob.BlobServiceClient(url, credential=credential, **options)


def _service(cfg: Any) -> Any:
    return blob_service(
        connection_string=cfg.connection_string,
        account_url=cfg.account_url,
        account_name=cfg.account_name,
        account_key=cfg.account_key,
        sas_token=cfg.sas_token,
    )


def storage_error(err: Exception, *, container: str, blob: str | None = None) -> HptError:
    """The SDK's exception as one line naming the resource and the fix."""
    from azure.core import exceptions as ax

    code = _code(err)
    status = getattr(err, "status_code", None)
    # A HEAD request's 403 has no body, hence no error code: the status says it.
    if (
        isinstance(err, ax.ClientAuthenticationError)
        or code in ("AuthenticationFailed", "AuthorizationFailure")
        or (status == 403 and not code)
    ):
        return ConfigError(
            "dataset.account_key",
            f"the storage account refused the credentials ({code or type(err).__name__}) for "
            f"container {container!r}; check the key, SAS token or connection string (and the "
            "machine's clock)",
        )
    if code == "ContainerNotFound":
        return ConfigError(
            "dataset.container",
            f"container {container!r} does not exist in this storage account; create it "
            "(hpt data upload --create-container) or fix dataset.container",
        )
    if code == "BlobNotFound" or isinstance(err, ax.ResourceNotFoundError):
        return ConfigError(
            "dataset.blobs",
            f"blob {blob!r} not found in container {container!r}; upload it (hpt data upload) "
            "or fix dataset.blobs / dataset.prefix",
        )
    if isinstance(err, ax.ServiceRequestError):
        return ConfigError(
            "dataset.account_url",
            f"cannot reach the storage endpoint ({type(err).__name__}: {str(err)[:120]}); check "
            "account_url / the connection string's BlobEndpoint and the network",
        )
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return HptError(f"azure_blob: container {container!r}: {type(err).__name__}: {first}")


@dataclass(frozen=True)
class BlobRef:
    """One blob to fetch: its name, its local file name, and its version tags."""

    name: str
    local: str
    etag: str
    md5: str | None
    size: int


def _md5(properties: Any) -> str | None:
    settings = getattr(properties, "content_settings", None)
    value = getattr(settings, "content_md5", None)
    return bytes(value).hex() if value else None


class AzureBlobSource:
    """Blobs of one container (see the module doc)."""

    name: ClassVar[str] = "azure_blob"

    def check(self, cfg: Any) -> None:
        if str(cfg.kind) not in ("talkingdata", "file"):
            raise ConfigError(
                "dataset.kind",
                f"azure_blob provides files for kind=talkingdata or kind=file, got {cfg.kind!r}",
            )
        if not cfg.container:
            raise ConfigError("dataset.container", "missing; name the blob container")
        if bool(cfg.blobs) == bool(cfg.prefix):
            raise ConfigError(
                "dataset.blobs",
                "name the data by exactly one of dataset.blobs=[name, ...] or dataset.prefix=dir/",
            )
        if str(cfg.kind) == "file" and not (cfg.blobs and len(cfg.blobs) == 1):
            raise ConfigError(
                "dataset.blobs", "kind=file reads one table: set dataset.blobs=[table.csv]"
            )
        if cfg.blobs:
            names = [PurePosixPath(str(b)).name for b in cfg.blobs]
            if len(set(names)) != len(names):
                raise ConfigError("dataset.blobs", f"two blobs share a file name: {names}")
        if str(cfg.kind) == "file" and not cfg.target:
            raise ConfigError("dataset.target", "missing; name the label column")
        _refuse_literal_secrets(cfg)
        keys = credential_keys(cfg)
        if len(keys) != 1:
            raise ConfigError(
                "dataset.connection_string",
                f"azure_blob needs exactly one credential, got {keys or 'none'}: set "
                "dataset.connection_string, or dataset.account_name + dataset.account_key, or "
                "dataset.sas_token (each as '${oc.env:VAR}')",
            )

    def _cache_dir(self, cfg: Any, cache_dir: Path, service: Any) -> Path:
        names = sorted(str(b) for b in cfg.blobs) if cfg.blobs else None
        key = digest(service.url, str(cfg.container), names, cfg.prefix)
        return cache_dir / "azure_blob" / f"{cfg.container}-{key}"

    def list_blobs(self, cfg: Any, container: Any) -> list[BlobRef]:
        """The blobs to fetch with their current ETag/MD5 (one listing or one HEAD each)."""
        refs: list[BlobRef] = []
        name = None
        try:
            if cfg.prefix:
                prefix = str(cfg.prefix)
                for item in container.list_blobs(name_starts_with=prefix):
                    name = str(item.name)
                    local = name[len(prefix) :].lstrip("/")
                    if not local or local.endswith("/"):
                        continue
                    refs.append(BlobRef(name, local, str(item.etag), _md5(item), int(item.size)))
                if not refs:
                    # An empty listing of a missing container is an error of its own.
                    container.get_container_properties()
                    raise ConfigError(
                        "dataset.prefix",
                        f"no blob in container {cfg.container!r} starts with {prefix!r}; "
                        "upload the files (hpt data upload) or fix dataset.prefix",
                    )
            else:
                for blob_name in cfg.blobs:
                    name = str(blob_name)
                    props = container.get_blob_client(name).get_blob_properties()
                    refs.append(
                        BlobRef(
                            name,
                            PurePosixPath(name).name,
                            str(props.etag),
                            _md5(props),
                            int(props.size),
                        )
                    )
        except ConfigError:
            raise
        except Exception as err:
            if _is_sdk_error(err):
                raise storage_error(err, container=str(cfg.container), blob=name) from None
            raise
        return refs

    def fetch(self, cfg: Any, cache_dir: Path, progress: Progress | None = None) -> Path:
        """Download what changed since the last fetch; return the directory (or the one file)."""
        service = _service(cfg)
        container = service.get_container_client(str(cfg.container))
        refs = self.list_blobs(cfg, container)
        directory = self._cache_dir(cfg, cache_dir, service)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(directory)
        for ref in refs:
            if not _unchanged(manifest.get(ref.local), ref, directory / ref.local):
                _download(container, ref, directory / ref.local, str(cfg.container), progress)
            manifest[ref.local] = {
                "blob": ref.name,
                "etag": ref.etag,
                "md5": ref.md5,
                "size": ref.size,
            }
            _write_manifest(directory, manifest)
        wanted = {r.local for r in refs}
        for stale in sorted(set(manifest) - wanted):  # deleted from the container since
            with contextlib.suppress(FileNotFoundError):
                (directory / stale).unlink()
            del manifest[stale]
        _write_manifest(directory, manifest)
        if str(cfg.kind) == "file":
            return directory / refs[0].local
        return directory

    def fingerprint(self, cfg: Any, path: Path | None) -> str:
        assert path is not None
        directory = path if path.is_dir() else path.parent
        manifest = _read_manifest(directory)
        # Content-MD5 names the bytes themselves; the ETag changes on every write.
        return digest(
            "azure_blob",
            sorted((k, v.get("md5") or v.get("etag"), v.get("size")) for k, v in manifest.items()),
        )


def _code(err: Exception) -> str:
    """The service's error code (``StorageErrorCode`` is a str enum; str() would add its name)."""
    code = getattr(err, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _is_sdk_error(err: Exception) -> bool:
    from azure.core.exceptions import AzureError

    return isinstance(err, AzureError)


def _unchanged(entry: dict[str, Any] | None, ref: BlobRef, local: Path) -> bool:
    if entry is None or not local.is_file() or local.stat().st_size != ref.size:
        return False
    return entry.get("etag") == ref.etag or (ref.md5 is not None and entry.get("md5") == ref.md5)


def _read_manifest(directory: Path) -> dict[str, dict[str, Any]]:
    try:
        found = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_manifest(directory: Path, manifest: dict[str, dict[str, Any]]) -> None:
    tmp = directory / f"{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, directory / MANIFEST)


def _download(
    container: Any, ref: BlobRef, target: Path, container_name: str, progress: Progress | None
) -> None:
    """Stream one blob to a temporary file next to ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.part-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            hook = None
            if progress is not None:

                def hook(current: int, total: int | None) -> None:
                    progress(ref.name, current, total)

            try:
                stream = container.get_blob_client(ref.name).download_blob(
                    etag=ref.etag, match_condition=_if_match(), progress_hook=hook
                )
                stream.readinto(out)
            except Exception as err:
                if not _is_sdk_error(err):
                    raise
                code = _code(err)
                if code in ("ConditionNotMet",) or getattr(err, "status_code", None) == 412:
                    raise HptError(
                        f"azure_blob: blob {ref.name!r} changed while it was downloaded; run again"
                    ) from None
                known = storage_error(err, container=container_name, blob=ref.name)
                if isinstance(known, ConfigError):
                    raise known from None
                raise HptError(
                    f"azure_blob: download of {ref.name!r} interrupted ({type(err).__name__}); "
                    "nothing was kept, run again to fetch it"
                ) from None
            out.flush()
            os.fsync(out.fileno())
        if tmp.stat().st_size != ref.size:
            raise HptError(
                f"azure_blob: download of {ref.name!r} incomplete ({tmp.stat().st_size} of "
                f"{ref.size} bytes); nothing was kept, run again to fetch it"
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _if_match() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def upload_files(
    service: Any,
    container_name: str,
    files: list[Path],
    *,
    prefix: str = "",
    create_container: bool = False,
    overwrite: bool = True,
    progress: Progress | None = None,
) -> list[str]:
    """Upload local ``files`` to ``container_name`` as ``prefix + file name``; return the names."""
    container = service.get_container_client(container_name)
    try:
        if create_container:
            from azure.core.exceptions import ResourceExistsError

            with contextlib.suppress(ResourceExistsError):
                container.create_container()
        names = []
        for file in files:
            name = f"{prefix}{file.name}"
            hook = None
            if progress is not None:

                def hook(current: int, total: int | None, name: str = name) -> None:
                    progress(name, current, total)

            with file.open("rb") as data:
                container.upload_blob(
                    name,
                    data,
                    overwrite=overwrite,
                    length=file.stat().st_size,
                    progress_hook=hook,
                    max_concurrency=2,
                )
            names.append(name)
    except Exception as err:
        if _is_sdk_error(err):
            raise storage_error(err, container=container_name) from None
        raise
    return names
