# pyns: two commands on a fresh machine (as root):
#   make demo   set-up, then a real container flow end to end
#   make test   set-up, then the whole suite
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# Debian packages the project needs: busybox-static for the test/demo image,
# docker-registry + skopeo + umoci (a real registry and peer image tools for
# tests), iptables/nftables/iproute2 (networking), libseccomp2 (seccomp),
# procps for `top`, runc and crun as benchmark peers, uidmap (newuidmap/
# newgidmap) for rootless mode, and Debian's python3 with cffi's backend and
# click: the rootless tests run pyns as an ordinary user, who may not reach
# a Python installed under /root.
APT_PACKAGES = busybox-static procps runc crun docker-registry skopeo umoci iptables nftables iproute2 libseccomp2 \
	uidmap python3-cffi python3-click
PY_BUILD_DEPS = "setuptools>=61" wheel "cffi>=1.15" "click>=8.1" "zstandard>=0.21" "isal>=1.6" pytest hypothesis pytest-timeout

.PHONY: all deps install dev test unit demo bench clean

all: install

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(PIP) install -q $(PY_BUILD_DEPS)

install: deps
	$(PIP) install -q --no-build-isolation .

# In-place build for development: PYTHONPATH=src then works without installing.
dev: deps
	$(PYTHON) setup.py -q build_ext --inplace
	$(PYTHON) csrc/native_build.py

test: install
	$(PYTHON) -m pytest -q -p no:cacheprovider tests

unit: install
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/unit

demo: install
	$(PYTHON) scripts/demo.py

bench: install
	$(PYTHON) benchmarks/startup.py
	$(PYTHON) benchmarks/density.py
	$(PYTHON) benchmarks/throughput.py

clean:
	rm -rf build dist src/*.egg-info src/pyns/_native*.so src/pyns/_native.c src/pyns/libexec
