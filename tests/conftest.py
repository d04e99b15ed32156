import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
