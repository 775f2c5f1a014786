"""Media types of the Docker Registry v2 and OCI image formats.

A registry decides which manifest format to return from the request's
``Accept`` header, and answers with the oldest format (or a 404) for types
a client does not list, so every manifest request names all four formats
pyns understands. Layer media types also tell how a blob is compressed;
pyns still sniffs the bytes when unpacking, but uses the type to refuse
content that is not a filesystem layer at all (a Helm chart, a signature).
"""
from __future__ import annotations

from pyns.errors import RegistryError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_NONDIST_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_NONDIST_LAYER_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_NONDIST_LAYER_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

OCI_LAYOUT_VERSION = "1.0.0"

MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
ACCEPT = ", ".join((*MANIFESTS, *INDEXES))
CONFIGS = (DOCKER_CONFIG, OCI_CONFIG)

# media type -> compression ("none", "gzip", "zstd")
_LAYER_COMPRESSION = {
    DOCKER_LAYER: "none", DOCKER_LAYER_GZIP: "gzip", DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_FOREIGN_LAYER_GZIP: "gzip",
    OCI_LAYER: "none", OCI_LAYER_GZIP: "gzip", OCI_LAYER_ZSTD: "zstd",
    OCI_NONDIST_LAYER: "none", OCI_NONDIST_LAYER_GZIP: "gzip", OCI_NONDIST_LAYER_ZSTD: "zstd",
}
_OCI_LAYER_BY_COMPRESSION = {"none": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}
_DOCKER_LAYER_BY_COMPRESSION = {"none": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP}


def is_index(media_type: str) -> bool:
    return media_type in INDEXES


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFESTS


def layer_compression(media_type: str) -> str:
    """The compression a layer media type announces; RegistryError for non-layers."""
    try:
        return _LAYER_COMPRESSION[media_type]
    except KeyError:
        raise RegistryError(f"unsupported layer media type {media_type!r}") from None


def layer_type(compression: str, oci: bool) -> str:
    """The layer media type for a compression in an OCI or a Docker schema2 manifest."""
    table = _OCI_LAYER_BY_COMPRESSION if oci else _DOCKER_LAYER_BY_COMPRESSION
    try:
        return table[compression]
    except KeyError:
        raise RegistryError(f"no {'OCI' if oci else 'Docker'} layer media type for {compression}") from None


def config_type(manifest_type: str) -> str:
    """The config media type that goes with a manifest media type."""
    return OCI_CONFIG if manifest_type == OCI_MANIFEST else DOCKER_CONFIG
