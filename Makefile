# Two commands for a fresh Debian machine with Python 3.11:
#   make site   — install runtime dependencies and build the knowledge base + site into output/
#   make test   — install test dependencies (and Debian's Chromium if missing) and run all tests
PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: site test bench bench-smoke bench-fixtures bench-pagefind bench-large bench-relevance chromium serve clean

site: $(VENV)/.runtime
	$(VPY) build.py $(BUILD_ARGS)

# The suite runs in parallel (pytest-xdist, one worker per core; PYTEST_JOBS=0 runs it in one
# process).
PYTEST_JOBS ?= auto
test: $(VENV)/.test chromium
	$(VPY) -m pytest -n $(PYTEST_JOBS) $(PYTEST_ARGS)

bench: $(VENV)/.test chromium
	$(VPY) benchmarks/run.py --sizes 100 1000 10000 --write BENCHMARKS.md

bench-smoke: $(VENV)/.test chromium
	$(VPY) benchmarks/run.py --sizes 100

# Tagging quality (city, instruments, key figures) on the fixture corpus of real source
# shapes (tests/fixtures/realistic): writes its section of BENCHMARKS.md.
bench-fixtures: $(VENV)/.runtime
	$(VPY) benchmarks/fixtures_eval.py --write BENCHMARKS.md

# Our in-browser search against Pagefind's extended build over the same passages
# (needs a built output/; writes benchmarks/PAGEFIND.md).
bench-pagefind: $(VENV)/.test chromium
	$(VPY) -m pip install -q -r requirements-bench.txt
	$(VPY) benchmarks/pagefind_compare.py --out output --label 真实语料 --write benchmarks/PAGEFIND.md

# nDCG@10 / recall@10 / MRR of the CLI, the browser and a stock jieba + Whoosh baseline on the
# graded questions of benchmarks/relevance/queries.yaml (tuned on), heldout.yaml and
# heldout2.yaml (development sets since the third and fifth sessions) and heldout3.yaml (never
# tuned on); needs the built output/; writes the four relevance sections of BENCHMARKS.md.
bench-relevance: site $(VENV)/.test chromium
	$(VPY) -m pip install -q -r requirements-bench.txt
	$(VPY) benchmarks/relevance.py --out output --write BENCHMARKS.md
	$(VPY) benchmarks/relevance.py --out output --queries benchmarks/relevance/heldout.yaml \
	  --block relevance-heldout --title "，留出集 (held-out)" --write BENCHMARKS.md
	$(VPY) benchmarks/relevance.py --out output --queries benchmarks/relevance/heldout2.yaml \
	  --block relevance-heldout2 --title "，留出集 2 (held-out 2)" --write BENCHMARKS.md
	$(VPY) benchmarks/relevance.py --out output --queries benchmarks/relevance/heldout3.yaml \
	  --block relevance-heldout3 --title "，留出集 3 (held-out 3)" --write BENCHMARKS.md

# One 30 MB document built cold: time per stage and memory (writes the large-document block).
bench-large: $(VENV)/.test
	$(VPY) benchmarks/large_doc.py --mb 30 --write BENCHMARKS.md

# Preview on this machine only; HOST=0.0.0.0 (or an address) to serve others, PORT= to move it.
HOST ?= 127.0.0.1
PORT ?= 8000
serve: site
	$(VPY) -m http.server --bind $(HOST) --directory output $(PORT)

$(VENV)/bin/python:
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c "import ensurepip" 2>/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt $(VENV)/bin/python
	$(VPY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt $(VENV)/.runtime
	$(VPY) -m pip install -q -r requirements-test.txt
	touch $@

# Playwright drives Debian's Chromium (/usr/bin/chromium); its own browser download is not used.
# A CJK font makes the browser tests lay out Chinese text as users see it.
chromium:
	@{ [ -x /usr/bin/chromium ] && dpkg -s fonts-wqy-microhei >/dev/null 2>&1; } || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei; }

clean:
	rm -rf output .output.building-* .output.retired-* .output.old .output.lock .kbcache
