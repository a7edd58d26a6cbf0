# VaxOps — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
VAXOPS := $(BIN)/vaxops
RESIDENTS ?= 100000
PORT ?= 8000

.PHONY: demo test test-pg fuzz install install-test browser fonts npm lint check-deploy bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "VaxOps needs Python 3.11, found %s" % sys.version.split()[0]' \
	  || { echo "需要 Python 3.11 / Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed npm
install-test: $(VENV)/.installed-test npm

# The charting library (ECharts) from the npm registry, at the version and integrity package-lock.json pins;
# never committed. Served from node_modules as a static file (vaxops/core/vendor.py). Without npm the pages
# keep their tables and say the charts are missing.
node_modules/.vaxops-installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@ \
	    || echo "!! npm ci 失败（无法访问 npm 源？）：图表不显示，页面仅显示数据表 / npm ci failed: charts are left out, pages show their tables only"; \
	else echo "!! 未找到 npm（sudo apt-get install npm）：图表不显示，页面仅显示数据表 / npm not found: charts are left out, pages show their tables only"; fi

npm: node_modules/.vaxops-installed

# Headless Chromium for the browser tests, from Debian's packages (never a downloaded browser).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "安装 Chromium（浏览器测试用）/ installing Debian chromium for browser tests"; \
	  (apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)) \
	    || echo "!! 无法安装 chromium：浏览器测试将被跳过 / could not install chromium: browser tests will be SKIPPED"; \
	else echo "!! 未找到 chromium（sudo apt-get install chromium）：浏览器测试将被跳过 / chromium not found: browser tests will be SKIPPED"; fi

# A Chinese TrueType font for the certificate PDFs (reportlab cannot embed the CFF outlines of Noto CJK).
fonts:
	@if [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "安装中文字体（接种凭证 PDF 用）/ installing Debian fonts-wqy-microhei for certificate PDFs"; \
	  (apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null)) \
	    || echo "!! 无法安装 fonts-wqy-microhei：凭证 PDF 不可用，其测试将被跳过 / could not install fonts-wqy-microhei: certificate PDF tests will be SKIPPED"; \
	else echo "!! 未找到中文字体（sudo apt-get install fonts-wqy-microhei）：凭证 PDF 不可用 / no Chinese font: certificate PDFs unavailable"; fi

# The demo runs as a county runs VaxOps (vaxops/settings/demo.py): gunicorn, static files from WhiteNoise, DEBUG
# off, over plain HTTP on 127.0.0.1:$(PORT). The worker stops with the server (Ctrl-C), whatever it was running.
DEMO_ENV := DJANGO_SETTINGS_MODULE=vaxops.settings.demo
demo: $(VENV)/.installed fonts npm
	@mkdir -p var
	$(DEMO_ENV) $(VAXOPS) migrate --verbosity 0
	$(DEMO_ENV) $(VAXOPS) collectstatic --noinput --verbosity 0
	$(DEMO_ENV) $(VAXOPS) seed-demo --residents $(RESIDENTS)
	@echo ""
	@echo "== VaxOps 演示 / demo: http://127.0.0.1:$(PORT)  (Ctrl-C 停止 / to stop; 换端口 / another port: PORT=8080 make demo) =="
	@echo "== 演示短信（一次性验证码）显示在本终端，记入 var/notifications.log / demo text messages: this terminal, var/notifications.log =="
	@$(DEMO_ENV) $(VAXOPS) exchange receiver --port 8090 --while-port $(PORT) >var/receiver.log 2>&1 &
	@$(DEMO_ENV) $(VAXOPS) worker >var/worker.log 2>&1 & echo $$! >var/worker.pid; \
	  trap 'kill -TERM $$(cat var/worker.pid) 2>/dev/null; wait $$(cat var/worker.pid) 2>/dev/null; rm -f var/worker.pid' EXIT; \
	  $(DEMO_ENV) $(BIN)/gunicorn vaxops.wsgi:application --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 \
	    --timeout 300 --graceful-timeout 15 --no-control-socket --access-logfile -

test: $(VENV)/.installed-test browser fonts npm
	$(BIN)/pytest -q -n 2 --dist loadfile

# The same suite on PostgreSQL (DATABASE_URL defaults to the local server).
test-pg: $(VENV)/.installed-test browser fonts npm
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q -n 2 --dist loadfile

# Only the schema-driven API fuzzer (schemathesis; also part of `make test` and `make test-pg`).
fuzz: $(VENV)/.installed-test
	$(BIN)/pytest -q -p no:xdist -m fuzz vaxops/core/tests/test_fuzz_api.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=vaxops.settings.test $(VAXOPS) makemigrations --check --dry-run

check-deploy: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=vaxops.settings.production VAXOPS_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	  VAXOPS_ALLOWED_HOSTS=vaxops.example.org $(VAXOPS) check --deploy --fail-level WARNING

bench: $(VENV)/.installed-test
	bench/run-all

clean:
	rm -rf $(VENV) var/*.sqlite3* var/media var/static
