"""The monitor's pipelines; ROOT is the project's folder (indicators.yaml, data/)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
