"""The execution room: everything that runs a deployable description.

Target specs, the float and integer network types, the shared neuron
arithmetic, the golden simulator, Lava processes and their builder, core
mapping, operation counters and energy profiles. It imports neither the
model nor `export`, and never touches PyTorch.
"""
