"""Lava processes of an S5-RF network and their CPU process models.

Laid out as Lava lays out its own (`lava.proc.<name>`): the processes in
`process`, their models in `models`, which imports `process`. Lava finds a
process's models by executing every module in the process's folder, so
nothing else may sit here: each module added would run again for every
process of every compiled network.
"""
