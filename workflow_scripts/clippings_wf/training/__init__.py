"""The training stages: data, samplers, optimisation schedule, checkpoints."""
