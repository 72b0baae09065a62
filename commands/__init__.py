"""The user commands (`s5rf-train`, `s5rf-export`, ...).

Commands sit on top of the three rooms and compose them:
`s5rf_neuro` (model) -> `export` (bridge) -> `hardware` (execution).
"""
