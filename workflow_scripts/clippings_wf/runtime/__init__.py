"""Process set-up every step shares: atomic writes, CPU kernels, determinism, step logs."""
