"""Manifest/index parsing, platform normalisation and selection, media types."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import InvalidArgument, RegistryError
from pyns.images import mediatypes as mt
from pyns.images.manifest import (Descriptor, ImageIndex, ImageManifest, encode, index_document, manifest_document,
                                  parse_manifest)
from pyns.images.platform import Platform, default_platform, parse_platform

D1, D2, D3 = ("sha256:" + c * 64 for c in "abc")


def desc(digest=D1, size=10, media_type=mt.OCI_LAYER_GZIP, **kw):
    return {"mediaType": media_type, "digest": digest, "size": size, **kw}


def manifest(media_type=mt.DOCKER_MANIFEST, **kw):
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "config": desc(D3, 5, mt.DOCKER_CONFIG),
                       "layers": [desc(D1), desc(D2)], **kw}).encode()


def index(*entries, media_type=mt.OCI_INDEX):
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": list(entries)}).encode()


def test_parse_docker_and_oci_manifests():
    m = parse_manifest(manifest(), mt.DOCKER_MANIFEST)
    assert isinstance(m, ImageManifest) and m.config.digest == D3 and [l.digest for l in m.layers] == [D1, D2]
    # the Content-Type wins; a generic one defers to the body, a bare body to its shape
    assert parse_manifest(manifest(mt.OCI_MANIFEST), "application/json; charset=utf-8").media_type == mt.OCI_MANIFEST
    bare = json.dumps({"schemaVersion": 2, "config": desc(D3), "layers": []}).encode()
    assert parse_manifest(bare).media_type == mt.OCI_MANIFEST
    assert parse_manifest(json.dumps({"schemaVersion": 2, "manifests": []}).encode()).media_type == mt.OCI_INDEX


@pytest.mark.parametrize("data,ctype,message", [
    (b"{", None, "invalid manifest"),
    (b"[]", None, "not a JSON object"),
    (manifest(), "application/vnd.example+json", "unsupported manifest media type"),
    (json.dumps({"schemaVersion": 1}).encode(), None, "schema1"),
    (manifest(schemaVersion=3), None, "schemaVersion 3"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc("md5:00"), "layers": []}).encode(),
     None, "unsupported digest"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(size=-1), "layers": []}).encode(),
     None, "invalid size"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(), "layers": {}}).encode(),
     None, "layers is not a list"),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(D1.replace("a", "../")),
                 "layers": []}).encode(), None, "unsupported digest"),
    (b" " * (4 << 20 + 1), None, "too large"),
])
def test_bad_manifests(data, ctype, message):
    with pytest.raises(RegistryError, match=message):
        parse_manifest(data, ctype)


def test_index_platform_selection():
    entries = [desc(D1, media_type=mt.OCI_MANIFEST, platform={"os": "linux", "architecture": "arm", "variant": "v6"}),
               desc(D2, media_type=mt.OCI_MANIFEST, platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
               desc(D3, media_type=mt.OCI_MANIFEST, platform={"os": "linux", "architecture": "amd64"}),
               desc(D1, media_type="application/vnd.in-toto+json", platform={"os": "unknown", "architecture": "unknown"})]
    idx = parse_manifest(index(*entries))
    assert isinstance(idx, ImageIndex)
    assert idx.select(Platform("linux", "amd64")).digest == D3
    assert idx.select(parse_platform("linux/arm64")).digest == D2  # v8 is arm64's default variant
    assert idx.select(parse_platform("linux/aarch64")).digest == D2
    assert idx.select(parse_platform("linux/arm/v6")).digest == D1
    assert idx.select(parse_platform("linux/arm")).digest == D1  # arm means v7, which runs v6 images
    with pytest.raises(RegistryError, match="no matching manifest for linux/arm/v5 in the manifest list entries"):
        idx.select(parse_platform("linux/arm/v5"))
    with pytest.raises(RegistryError, match="windows/amd64"):
        idx.select(parse_platform("windows/amd64"))


def test_platform_parsing():
    assert str(parse_platform("linux/x86_64")) == "linux/amd64"
    assert str(parse_platform("Linux/ARM64/v8")) == "linux/arm64"
    assert str(parse_platform("linux/armhf")) == "linux/arm/v7"
    assert default_platform().os == "linux"
    for bad in ("linux", "linux/", "/amd64", "a/b/c/d", ""):
        with pytest.raises(InvalidArgument, match="invalid platform"):
            parse_platform(bad)


@given(st.text(max_size=30))
def test_parse_platform_raises_only_invalid_argument(text):
    try:
        p = parse_platform(text)
    except InvalidArgument:
        return
    assert p == p.normalized() and p.os and p.architecture


def test_documents_round_trip():
    cfg = Descriptor(mt.OCI_CONFIG, D3, 5)
    layers = [Descriptor(mt.OCI_LAYER_GZIP, D1, 10, annotations={"k": "v"})]
    parsed = parse_manifest(encode(manifest_document(mt.OCI_MANIFEST, cfg, layers)))
    assert isinstance(parsed, ImageManifest) and parsed.config == cfg and parsed.layers[0].annotations == {"k": "v"}
    entry = Descriptor(mt.OCI_MANIFEST, D2, 99, Platform("linux", "arm", "v7"))
    parsed_index = parse_manifest(encode(index_document([entry])))
    assert isinstance(parsed_index, ImageIndex) and parsed_index.manifests[0].platform == Platform("linux", "arm", "v7")


def test_media_types():
    assert mt.layer_compression(mt.DOCKER_LAYER_GZIP) == "gzip" and mt.layer_compression(mt.OCI_LAYER_ZSTD) == "zstd"
    assert mt.layer_compression(mt.OCI_LAYER) == "none"
    with pytest.raises(RegistryError, match="unsupported layer media type"):
        mt.layer_compression("application/vnd.cncf.helm.chart.content.v1.tar+gzip")
    assert mt.layer_type("zstd", oci=True) == mt.OCI_LAYER_ZSTD and mt.layer_type("gzip", oci=False) == mt.DOCKER_LAYER_GZIP
    with pytest.raises(RegistryError):
        mt.layer_type("zstd", oci=False)
    assert all(t in mt.ACCEPT for t in (*mt.MANIFESTS, *mt.INDEXES))
