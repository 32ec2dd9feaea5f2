# The front door: `make run` to see the dashboard, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
COUNTRY ?= BG
QUARTER ?= 2022-Q3
LANG_OPT := $(if $(TEMPLATE_LANG),--lang $(TEMPLATE_LANG),)
SYSTEM_PACKAGES := chromium chromium-driver libreoffice-calc-nogui

.DEFAULT_GOAL := help
.PHONY: help setup run serve serve-prod accounts ingest demo-data template test lint bench system-deps clean distclean translations

help: ## List the targets
	@echo "Migrant Voices Heard impact monitor"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml constraints.txt
	@echo "==> creating $(VENV) and installing the pinned versions"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

setup: $(INSTALLED) ## Create .venv and install the project with its pinned versions

demo-data: setup ## Write demo workbooks into data/raw (one per country and quarter)
	@echo "==> writing demo workbooks into data/raw"
	$(BIN)/mvh demo-data --out data/raw
	@touch data/raw/.demo  # so that `make run` adds demo logins

ingest: setup ## Validate and load data/raw into data/processed/mvh.duckdb (demo data if empty)
	@ls data/raw/*.xlsx >/dev/null 2>&1 || $(MAKE) --no-print-directory demo-data
	@echo "==> ingesting data/raw"
	@$(BIN)/mvh ingest data/raw; status=$$?; [ $$status -le 1 ] # 1 = some files rejected

run: ingest accounts serve ## Set up, ingest (demo data if none), add demo logins, serve on :8050

accounts: setup ## On demo data: add demo logins if there are no accounts, print how to log in
	@if [ -e data/raw/.demo ]; then $(BIN)/mvh users demo; \
	else echo "==> log in with your account; an admin adds accounts with: mvh users add NAME --role ..."; fi

serve: setup ## Serve the dashboard on http://127.0.0.1:8050 (development server)
	@echo "==> dashboard on http://127.0.0.1:8050 (Ctrl+C to stop)"
	$(BIN)/mvh serve

serve-prod: setup ## Serve with gunicorn (3 workers x 4 threads) on MVH_BIND, default 127.0.0.1:8050
	@echo "==> gunicorn on $${MVH_BIND:-127.0.0.1:8050}; put it behind an HTTPS reverse proxy (README)"
	$(BIN)/gunicorn -c dashboard/gunicorn.conf.py dashboard.wsgi:server

template: setup ## Write a blank template: make template COUNTRY=BG QUARTER=2022-Q3 [TEMPLATE_LANG=en]
	$(BIN)/mvh template --country $(COUNTRY) --quarter $(QUARTER) $(LANG_OPT) -o MVH_$(COUNTRY)_$(QUARTER).xlsx

system-deps: ## Install Chromium and LibreOffice for the browser and file tests, if missing
	@if command -v chromium >/dev/null && command -v soffice >/dev/null; then exit 0; fi; \
	echo "==> installing $(SYSTEM_PACKAGES)"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -q && $$SUDO apt-get install -y -q $(SYSTEM_PACKAGES)

test: setup system-deps ## Run every test (unit, files, database, headless Chromium), two at a time
	@echo "==> running the tests"
	$(BIN)/python -m pytest -n 2 --dist worksteal

translations: setup ## Update the dashboard's catalogues (dashboard/locale/*/LC_MESSAGES/messages.po) from its code
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output --omit-header \
		-o dashboard/locale/messages.pot dashboard
	@for lang in de bg fr el hu it ro; do \
		if [ -f dashboard/locale/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i dashboard/locale/messages.pot -d dashboard/locale -l $$lang \
				--omit-header --no-fuzzy-matching --ignore-obsolete; \
		else $(BIN)/pybabel init -i dashboard/locale/messages.pot -d dashboard/locale -l $$lang; fi; \
	done

lint: setup ## Check style with ruff
	$(BIN)/ruff check pipelines dashboard tests bench

bench: setup ## Print the benchmark figures against their baselines
	$(BIN)/python bench/run.py

clean: ## Remove the database, stored files and caches (keeps data/raw and .venv)
	@echo "==> removing data/processed contents and caches"
	find data/processed -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache build
	find . -name __pycache__ -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## Also remove .venv and the demo workbooks
	rm -rf $(VENV)
	find data/raw -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
